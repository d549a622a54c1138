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
	return newPattern(selector).matches(strings.ToLower(description))
}

// pattern is a selector in lower case, split at its *s once for matching
// many descriptions.
type pattern struct {
	text  string
	parts []string // nil for an exact name
}

func newPattern(selector string) pattern {
	p := pattern{text: strings.ToLower(selector)}
	if parts := strings.Split(p.text, "*"); len(parts) > 1 {
		p.parts = parts
	}
	return p
}

// matches reports whether a description, in lower case, matches.
func (p pattern) matches(d string) bool {
	if p.parts == nil {
		return p.text == d
	}
	// The text before the first * must start the description and the text
	// after the last * must end what remains; the parts between must occur
	// in order, and taking each at its first occurrence leaves the most room
	// for the next.
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if !strings.HasPrefix(d, first) {
		return false
	}
	d = d[len(first):]
	if !strings.HasSuffix(d, last) {
		return false
	}
	d = d[:len(d)-len(last)]
	for _, part := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(d, part)
		if i < 0 {
			return false
		}
		d = d[i+len(part):]
	}
	return true
}
