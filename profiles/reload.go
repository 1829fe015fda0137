package profiles

// RestartNeeded compares the configuration c, under which server runs, with
// next, a reload of it, and lists what changed that only a restart of the
// server applies, for people ("keychain_service", "the server's container or
// connection"). It returns nil when every change applies live: the server's
// profile (or the profiles themselves), audit_arguments and the [audit]
// table. A server that next no longer defines needs a restart too.
func (c *Config) RestartNeeded(next *Config, server string) []string {
	var why []string
	if c.KeychainService != next.KeychainService {
		// Secrets and tokens were read from the old service at start.
		why = append(why, "keychain_service")
	}
	old, now := c.Servers[server], next.Servers[server]
	switch {
	case now == nil:
		why = append(why, "server "+server+" is no longer defined")
	case old.NeedsRestart(now):
		why = append(why, "the server's container or connection")
	}
	return why
}
