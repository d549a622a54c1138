package mds

import "strings"

// Match reports whether a model's description matches a selector. The
// selector is either an exact description or a pattern in which each *
// stands for any run of characters, possibly empty; every other character,
// including ? [ ] + ( ) . and \, stands for itself. Case is ignored.
//
//	"YubiKey 5 Series with NFC"  that model only
//	"YubiKey 5*"                 every description that starts with "YubiKey 5"
//	"*NFC*"                      every description that contains "NFC"
//	"*"                          every model
//
// Only * is special so that descriptions, which contain brackets, dots and
// plus signs, can be pasted as they are.
func Match(selector, description string) bool {
	s, d := strings.ToLower(selector), strings.ToLower(description)
	parts := strings.Split(s, "*")
	if len(parts) == 1 {
		return s == d
	}
	// The text before the first * must start the description and the text
	// after the last * must end what remains; the parts between must occur
	// in order, and taking each at its first occurrence leaves the most room
	// for the next.
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(d, first) {
		return false
	}
	d = d[len(first):]
	if !strings.HasSuffix(d, last) {
		return false
	}
	d = d[:len(d)-len(last)]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(d, part)
		if i < 0 {
			return false
		}
		d = d[i+len(part):]
	}
	return true
}
