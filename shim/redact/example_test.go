package redact_test

import (
	"fmt"
	"log"
	"os"

	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

func Example() {
	r, err := redact.New([]redact.Secret{{Name: "GITHUB_TOKEN", Value: "ghp_R8x2kQm4Vb7nLp0sT3wY"}})
	if err != nil {
		log.Fatal(err)
	}
	// A server echoes the token, spelled with a JSON escape, in an error.
	msg := []byte(`{"jsonrpc":"2.0","id":3,"error":{"code":-32000,"message":"bad credentials: \u0067hp_R8x2kQm4Vb7nLp0sT3wY"}}`)
	fmt.Printf("%s\n", r.Message(msg))

	// Our own log lines go through Writer.
	fmt.Fprintln(r.Writer(os.Stdout), "token=ghp_R8x2kQm4Vb7nLp0sT3wY")
	// Output:
	// {"jsonrpc":"2.0","id":3,"error":{"code":-32000,"message":"bad credentials: [redacted:GITHUB_TOKEN]"}}
	// token=[redacted:GITHUB_TOKEN]
}

func ExampleNew_tooShort() {
	_, err := redact.New([]redact.Secret{{Name: "PIN", Value: "1234"}})
	fmt.Println(err)
	// Output:
	// redact: secret "PIN": value shorter than 8 bytes cannot be redacted safely
}
