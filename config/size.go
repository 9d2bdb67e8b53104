package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes, as in SSEWS_MAX_MESSAGE and max_message.
//
// It reads a whole number of bytes ("1048576", also "1048576B") or a whole number
// with an IEC unit: KiB, MiB or GiB, powers of 1024 ("64KiB", "1 MiB"; the unit's
// case does not matter). SI units (kB, MB, GB) and bare K, M, G are refused rather
// than guessed: "64KB" is 64000 bytes to some and 65536 to others. Fractions,
// negative numbers and zero are refused too: a limit of nothing is a mistake.
type Size int64

// sizeUnits are the accepted units, largest first; they match in any case.
var sizeUnits = []struct {
	name   string
	factor int64
}{
	{"GiB", 1 << 30},
	{"MiB", 1 << 20},
	{"KiB", 1 << 10},
	{"B", 1},
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(text []byte) error {
	raw := string(text)
	n, err := parseSize(raw)
	if err != nil {
		return err
	}
	*s = n
	return nil
}

func parseSize(raw string) (Size, error) {
	num, factor := strings.TrimSpace(raw), int64(1)
	lower := strings.ToLower(num)
	for _, u := range sizeUnits {
		if strings.HasSuffix(lower, strings.ToLower(u.name)) {
			num, factor = strings.TrimSpace(num[:len(num)-len(u.name)]), u.factor
			break
		}
	}
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return 0, fmt.Errorf("invalid size %q (want bytes, or a whole number of KiB, MiB or GiB, e.g. 64KiB)", raw)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/factor {
		return 0, fmt.Errorf("size %q out of range", raw)
	}
	if n == 0 {
		return 0, fmt.Errorf("size %q must be at least 1 byte", raw)
	}
	return Size(n * factor), nil
}

// String gives the size in the largest unit that divides it, e.g. "1MiB" or "1000".
func (s Size) String() string {
	for _, u := range sizeUnits {
		if u.factor > 1 && s != 0 && int64(s)%u.factor == 0 {
			return strconv.FormatInt(int64(s)/u.factor, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText implements encoding.TextMarshaler, in the form UnmarshalText reads.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
