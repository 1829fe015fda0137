package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchSecrets look like what users configure: tokens of 12 to 56 bytes.
var benchSecrets = []Secret{
	{Name: "GITHUB_TOKEN", Value: "ghp_R8x2kQm4Vb7nLp0sT3wYc9FhJd6GaZeU1iKo"},
	{Name: "OPENAI_API_KEY", Value: "sk-proj-4fJ9kL2mN8pQ1rS7tU3vW6xY0zA5bC2dE9fG4hI7jK1lM3nO"},
	{Name: "AWS_SECRET_ACCESS_KEY", Value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
	{Name: "DB_PASSWORD", Value: "Tr0ub4dor&3x"},
	{Name: "WEBHOOK_SECRET", Value: "9f86d081884c7d659a2feaa0c55ad015"},
}

// shortSecrets are all of MinLength, the worst case for the sampled scan.
var shortSecrets = []Secret{
	{Name: "A", Value: "Xy7#pQ2!"}, {Name: "B", Value: "hunter22"}, {Name: "C", Value: "9f86d081"},
	{Name: "D", Value: "p@ssw0rd"}, {Name: "E", Value: "zq-42-kv"},
}

// pemSecrets holds a multi-line value, so every \n escape in a message is
// a place where it might continue.
var pemSecrets = []Secret{{Name: "TLS_KEY", Value: pemLike()}}

func pemLike() string {
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("-----BEGIN PRIVATE KEY-----\n")
	for range 25 {
		b.WriteString(base64.StdEncoding.EncodeToString(randBytes(rng, 48)))
		b.WriteString("\n")
	}
	b.WriteString("-----END PRIVATE KEY-----\n")
	return b.String()
}

// toolResult returns a tools/call result of about size bytes whose text
// mixes prose, code with quotes and backslashes, non-ASCII characters
// (half of them \u-escaped as some encoders do) and base64 blobs.
func toolResult(size int) []byte {
	rng := rand.New(rand.NewPCG(7, size64(size)))
	words := strings.Fields(`the relay forwards each message from the server to the host and
		filters tools by profile while café naïve résumé 東京 values are kept as they came
		func main() { fmt.Println("hello, \"world\"") } path C:\Users\me\file.txt tab	here`)
	var text strings.Builder
	for text.Len() < size {
		switch rng.IntN(10) {
		case 0:
			blob := make([]byte, 30+rng.IntN(200))
			for i := range blob {
				blob[i] = byte(rng.Uint32())
			}
			text.WriteString(base64.StdEncoding.EncodeToString(blob))
		case 1:
			text.WriteString("\n")
		default:
			text.WriteString(words[rng.IntN(len(words))])
		}
		text.WriteByte(' ')
	}
	result := map[string]any{
		"jsonrpc": "2.0",
		"id":      1,
		"result": map[string]any{
			"content": []any{map[string]any{"type": "text", "text": text.String()}},
		},
	}
	b, err := json.Marshal(result)
	if err != nil {
		panic(err)
	}
	return bytes.ReplaceAll(b, []byte("é"), []byte(`\u00e9`))
}

func size64(n int) uint64 { return uint64(n) }

// benchMessages caches toolResult per size: building 10 MB takes longer
// than scanning it.
var benchMessages = map[int][]byte{}

func benchMessage(size int) []byte {
	if m, ok := benchMessages[size]; ok {
		return m
	}
	m := toolResult(size)
	benchMessages[size] = m
	return m
}

var benchSizes = []struct {
	name string
	size int
}{{"1MB", 1 << 20}, {"10MB", 10 << 20}}

func BenchmarkMessage(b *testing.B) {
	for _, sz := range benchSizes {
		msg := benchMessage(sz.size)
		for _, tc := range []struct {
			name    string
			secrets []Secret
		}{
			{"nosecrets", nil},
			{"5secrets", benchSecrets},
			{"5short", shortSecrets},
			{"pem", pemSecrets},
		} {
			r := mustNew(b, tc.secrets)
			if got := r.Message(msg); &got[0] != &msg[0] {
				b.Fatalf("%s: benchmark message unexpectedly changed", tc.name)
			}
			b.Run(sz.name+"/"+tc.name, func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					r.Message(msg)
				}
			})
		}
	}
}

// BenchmarkMessageHit measures the slow path: one secret in the middle.
func BenchmarkMessageHit(b *testing.B) {
	for _, sz := range benchSizes {
		msg := benchMessage(sz.size)
		mid := bytes.IndexByte(msg[len(msg)/2:], ' ') + len(msg)/2
		msg = fmt.Appendf(nil, "%s%s%s", msg[:mid], benchSecrets[0].Value, msg[mid:])
		r := mustNew(b, benchSecrets)
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				r.Message(msg)
			}
		})
	}
}

func BenchmarkJSONValid(b *testing.B) {
	for _, sz := range benchSizes {
		msg := benchMessage(sz.size)
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if !json.Valid(msg) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
