package pins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Diff describes for a person how the definition new differs from old
// (both canonical; old nil for a new tool): field by field, the
// description and schemas as text lines marked "-" (trusted) and "+"
// (offered now).
func Diff(old, new json.RawMessage) string {
	var o, n map[string]json.RawMessage
	_ = json.Unmarshal(old, &o)
	_ = json.Unmarshal(new, &n)
	var b strings.Builder
	for _, f := range Fields {
		ov, nv := pretty(o[f], f), pretty(n[f], f)
		if ov == nv {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n", f)
		for _, l := range lineDiff(lines(ov), lines(nv)) {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	return b.String()
}

// pretty renders a field: a string as its text, anything else as indented
// JSON; "" when absent.
func pretty(raw json.RawMessage, field string) string {
	if raw == nil {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// lineDiff is a longest-common-subsequence diff of two short texts: kept
// lines start with "  ", removed ones with "- ", added ones with "+ ".
func lineDiff(a, b []string) []string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, "  "+a[i])
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, "+ "+b[j])
			j++
		default:
			out = append(out, "- "+a[i])
			i++
		}
	}
	return out
}
