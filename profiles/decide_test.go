package profiles

import "testing"

// Decide(Resources, …) must apply Resource's canonical matching: the relay's
// method table calls Decide, and a raw glob match lets "file:///data/../etc"
// through "file:///data/**". Found by the relay fuzz target.
func TestDecideResourcesIsResource(t *testing.T) {
	cfg, err := parse(testFile, []byte("[servers.s]\nimage = \"x\"\nprofile = \"p\"\n[profiles.p]\nresources.allow = [\"file:///data/**\"]\n"), fakeEnv{home: "/home/u"})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := cfg.Policy("s", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"file:///data/x", "file:///data/#", "file:///data/../etc/passwd", "file:///data/%2e%2e/etc", "file:///etc/passwd"} {
		if got, want := pol.Decide(Resources, uri), pol.Resource(uri); got != want {
			t.Errorf("Decide(Resources, %q) = %+v, Resource = %+v", uri, got, want)
		}
	}
	if pol.Decide(Resources, "file:///data/../etc/passwd").Allowed {
		t.Error("a dot-segment URI escaping the allowed tree is allowed")
	}
}
