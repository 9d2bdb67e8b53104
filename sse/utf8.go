package sse

import "unicode/utf8"

// An event stream is decoded with the UTF-8 decode algorithm of the WHATWG Encoding
// standard (https://encoding.spec.whatwg.org/#utf-8-decoder), so this is what a
// browser's EventSource hands to script. That decoder replaces each maximal subpart
// of an ill-formed sequence with one U+FFFD: "\xE2\x82" is one U+FFFD where Go's
// range loop yields two, and "\xFF\xFF" is two where strings.ToValidUTF8 yields one.

const replacement = "\uFFFD"

// DecodeUTF8 returns s as the WHATWG UTF-8 decoder reads it. A valid s is returned
// as is, without allocating.
func DecodeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendInvalid(make([]byte, 0, len(s)+len(s)/2), s)) // room for some U+FFFD
}

// appendUTF8 appends src to dst as the WHATWG UTF-8 decoder reads it.
func appendUTF8(dst, src []byte) []byte {
	if utf8.Valid(src) {
		return append(dst, src...)
	}
	return appendInvalid(dst, src)
}

// appendInvalid is the slow path of the decoder, for input known to be ill formed.
func appendInvalid[T string | []byte](dst []byte, src T) []byte {
	for i := 0; i < len(src); {
		n, ok := sequence(src[i:])
		if ok {
			dst = append(dst, src[i:i+n]...)
		} else {
			dst = append(dst, replacement...)
		}
		i += n
	}
	return dst
}

// sequence returns the length of the UTF-8 sequence at the start of b and whether it
// is well formed. When it is not, n is the length of its maximal subpart: the lead
// byte and the continuation bytes that fit the decoder's bounds (Encoding §8.1.1),
// which is at least 1.
func sequence[T string | []byte](b T) (n int, ok bool) {
	c := b[0]
	if c < utf8.RuneSelf {
		return 1, true
	}
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0 // no overlong forms
	case c == 0xED:
		need, hi = 2, 0x9F // no surrogates
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90 // no overlong forms
	case c == 0xF4:
		need, hi = 3, 0x8F // nothing above U+10FFFF
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1, false
	}
	for n = 1; n <= need; n++ {
		if n == len(b) || b[n] < lo || b[n] > hi {
			return n, false
		}
		lo, hi = 0x80, 0xBF
	}
	return n, true
}
