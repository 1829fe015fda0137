package keychain_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
)

// A launcher resolves the secrets a server's config names. The service
// comes from the environment or the config file (here: not configured).
func Example() {
	ctx := context.Background()
	store := keychain.New(keychain.Options{Service: keychain.ServiceName("")})

	token, err := store.Get(ctx, "github-pat")
	switch {
	case errors.Is(err, keychain.ErrNotFound):
		fmt.Fprintln(os.Stderr, "run: mcp-sandbox secret set github-pat")
	case errors.Is(err, keychain.ErrTimeout):
		fmt.Fprintln(os.Stderr, "the keychain is locked or not answering:", err)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
	default:
		_ = token // goes into the container's environment, never into a log
	}
}

// OAuth tokens are stored under names derived from the server's name,
// which may contain characters a secret name cannot.
func ExampleItemName() {
	for _, server := range []string{"github", "my server"} {
		name, err := keychain.ItemName("oauth", server, "refresh")
		fmt.Println(name, err)
	}
	// Output:
	// oauth.github.refresh <nil>
	// oauth.b32-dlsi0sr5e9r6asg.refresh <nil>
}
