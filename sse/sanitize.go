package sse

// Dropped is the set of fields Sanitize removed from an event.
type Dropped uint8

// The fields Sanitize can drop.
const (
	DroppedType Dropped = 1 << iota
	DroppedID
)

// String names the dropped fields, "type", "id" or "type,id", for a log attribute
// or a metric label; "" when none was dropped.
func (d Dropped) String() string {
	switch d & (DroppedType | DroppedID) {
	case DroppedType:
		return "type"
	case DroppedID:
		return "id"
	case DroppedType | DroppedID:
		return "type,id"
	}
	return ""
}

// Sanitize makes ev safe to encode: afterwards AppendEvent writes it whole and it
// re-parses to the same event (data line ends aside, which come back as LF).
//
// A Type or ID holding CR, LF or NUL cannot be written without forging a field (or,
// for NUL in an id, being ignored by EventSource), so it is cleared and reported;
// the data is kept. Invalid UTF-8 in any field is replaced as the WHATWG UTF-8
// decoder does (DecodeUTF8), which is what a browser would have shown anyway.
func Sanitize(ev *Event) Dropped {
	d := DropLineBreaks(ev)
	ev.Type = DecodeUTF8(ev.Type)
	ev.ID = DecodeUTF8(ev.ID)
	ev.Data = DecodeUTF8(ev.Data)
	return d
}

// DropLineBreaks is Sanitize for an event that is valid UTF-8 already, as every
// event a Parser returns is: it only clears, and reports, a Type or ID holding CR,
// LF or NUL, and spares the decoding a second pass over the data.
func DropLineBreaks(ev *Event) Dropped {
	var d Dropped
	if breaksLine(ev.Type) {
		ev.Type = ""
		d |= DroppedType
	}
	if breaksLine(ev.ID) {
		ev.ID = ""
		d |= DroppedID
	}
	return d
}
