package config

import (
	"slices"
	"strings"
)

// suggest returns the candidate name is most likely a misspelling of, or "" when none
// is close. Case, '_' and '-' are ignored first, so forwardHeaders finds
// forward_headers and SSEWS_LOGLEVEL finds SSEWS_LOG_LEVEL; then up to two edits,
// fewer for short names, where two edits reach almost anything.
func suggest(name string, candidates []string) string {
	fold := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	sorted := slices.Sorted(slices.Values(candidates))
	best, bestDist := "", 3
	for _, c := range sorted {
		if fold(c) == fold(name) {
			return c
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if d < bestDist && 3*d <= len(name) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
