package sse

import (
	"testing"
	"unicode/utf8"
)

func TestDecodeUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"valid", "a€😀\uFFFD", "a€😀\uFFFD"},
		{"lone continuation", "\x80", "\uFFFD"},
		{"two continuations are two", "\x80\xBF", "\uFFFD\uFFFD"},
		{"invalid leads are one each", "\xC0\xC1\xF5\xFF", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"truncated 3-byte is one", "\xE2\x82", "\uFFFD"},
		{"truncated 3-byte then ascii", "\xE2\x82a", "\uFFFDa"},
		{"truncated 4-byte is one", "\xF0\x9F\x98", "\uFFFD"},
		{"truncated 4-byte then lead", "\xF0\x9F\xE2\x82\xAC", "\uFFFD€"},
		{"overlong 2-byte", "\xC0\xAF", "\uFFFD\uFFFD"},
		{"overlong 3-byte", "\xE0\x80\xAF", "\uFFFD\uFFFD\uFFFD"},
		{"overlong 4-byte", "\xF0\x8F\xBF\xBF", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"surrogate", "\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"above max", "\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"max code point", "\xF4\x8F\xBF\xBF", "\U0010FFFF"},
		{"lead at end", "a\xC3", "a\uFFFD"},
		{"five-byte form", "\xF8\x88\x80\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodeUTF8(tt.in); got != tt.want {
				t.Errorf("DecodeUTF8(%q) got %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeUTF8ValidNoAlloc(t *testing.T) {
	s := "plain ascii and € text"
	if allocs := testing.AllocsPerRun(100, func() { _ = DecodeUTF8(s) }); allocs != 0 {
		t.Errorf("allocations got %v; want 0", allocs)
	}
}

// Every input of up to two bytes, and three-byte inputs over bytes at every bound,
// decode as the Encoding standard's algorithm written out step by step does.
func TestDecodeUTF8Exhaustive(t *testing.T) {
	t.Parallel()
	check := func(s string) {
		if got, want := DecodeUTF8(s), referenceDecode(s); got != want {
			t.Fatalf("DecodeUTF8(%q) got %q; want %q", s, got, want)
		}
	}
	for a := range 256 {
		check(string([]byte{byte(a)}))
		for b := range 256 {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	bounds := []byte{0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF}
	for _, a := range bounds {
		for _, b := range bounds {
			for _, c := range bounds {
				for _, d := range bounds {
					check(string([]byte{a, b, c, d}))
				}
			}
		}
	}
}

// referenceDecode is the UTF-8 decoder of https://encoding.spec.whatwg.org/#utf-8-decoder
// written as its steps read, byte by byte, to test the fast one against.
func referenceDecode(s string) string {
	var out []rune
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(s); i++ {
		b := s[i]
		if needed == 0 {
			switch {
			case b <= 0x7F:
				out = append(out, rune(b))
			case b >= 0xC2 && b <= 0xDF:
				needed, cp = 1, rune(b&0x1F)
			case b >= 0xE0 && b <= 0xEF:
				if b == 0xE0 {
					lower = 0xA0
				}
				if b == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(b&0xF)
			case b >= 0xF0 && b <= 0xF4:
				if b == 0xF0 {
					lower = 0x90
				}
				if b == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(b&0x7)
			default:
				out = append(out, utf8.RuneError)
			}
			continue
		}
		if b < lower || b > upper {
			cp, needed, seen, lower, upper = 0, 0, 0, 0x80, 0xBF
			out = append(out, utf8.RuneError)
			i-- // prepend b to the stream
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(b&0x3F)
		seen++
		if seen == needed {
			out = append(out, cp)
			cp, needed, seen = 0, 0, 0
		}
	}
	if needed != 0 {
		out = append(out, utf8.RuneError)
	}
	return string(out)
}
