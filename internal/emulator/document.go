package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
)

// The emulator stores each tenant's fido2 document as JSON, member by member
// in the order it was given, so that whatever a real tenant can hold —
// properties the emulator does not model, enum members it does not know,
// nulls — comes back out of GET unchanged. The typed Fido2Document is a view
// of it for the rules and for Go callers; it is never stored.

// jsonMember is one member of a JSON object.
type jsonMember struct {
	name  string
	value json.RawMessage
}

// jsonObject is a JSON object that keeps its members' order and their values
// as raw JSON. The zero value is an empty object.
type jsonObject struct {
	members []jsonMember
}

// parseObject reads a JSON object. A repeated member keeps its last value in
// the position of its first.
func parseObject(raw []byte) (jsonObject, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return jsonObject{}, fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return jsonObject{}, errors.New("not a JSON object")
	}
	var o jsonObject
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonObject{}, fmt.Errorf("not JSON: %w", err)
		}
		name, _ := tok.(string) // object keys are always strings
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return jsonObject{}, fmt.Errorf("not JSON: %w", err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, value); err != nil {
			return jsonObject{}, fmt.Errorf("not JSON: %w", err)
		}
		o.set(name, compact.Bytes())
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return jsonObject{}, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jsonObject{}, errors.New("not JSON: data after the object")
	}
	return o, nil
}

func (o jsonObject) index(name string) int {
	return slices.IndexFunc(o.members, func(m jsonMember) bool { return m.name == name })
}

// get returns a member's raw value.
func (o jsonObject) get(name string) (json.RawMessage, bool) {
	if i := o.index(name); i >= 0 {
		return o.members[i].value, true
	}
	return nil, false
}

// has reports whether the member is present and not null.
func (o jsonObject) has(name string) bool {
	v, ok := o.get(name)
	return ok && !isNull(v)
}

// set replaces a member's value in place, or appends the member.
func (o *jsonObject) set(name string, value json.RawMessage) {
	if i := o.index(name); i >= 0 {
		o.members[i].value = value
		return
	}
	o.members = append(o.members, jsonMember{name, value})
}

// setFirst sets a member and moves it to the front (for an id).
func (o *jsonObject) setFirst(name string, value json.RawMessage) {
	o.remove(name)
	o.members = append([]jsonMember{{name, value}}, o.members...)
}

// setValue sets a member to the JSON of v.
func (o *jsonObject) setValue(name string, v any) {
	o.set(name, mustMarshal(v))
}

func (o *jsonObject) remove(name string) {
	o.members = slices.DeleteFunc(o.members, func(m jsonMember) bool { return m.name == name })
}

// names lists the members in order.
func (o jsonObject) names() []string {
	out := make([]string, len(o.members))
	for i, m := range o.members {
		out[i] = m.name
	}
	return out
}

func (o jsonObject) clone() jsonObject {
	c := jsonObject{members: make([]jsonMember, len(o.members))}
	for i, m := range o.members {
		c.members[i] = jsonMember{m.name, slices.Clone(m.value)}
	}
	return c
}

// withoutAnnotations drops instance and property annotations (@odata.type,
// includeTargets@odata.context, …): they describe a payload, they are not
// part of the stored entity.
func (o jsonObject) withoutAnnotations() jsonObject {
	c := o.clone()
	c.members = slices.DeleteFunc(c.members, func(m jsonMember) bool { return isAnnotation(m.name) })
	return c
}

func isAnnotation(name string) bool { return strings.Contains(name, "@") }

// MarshalJSON writes the members in order.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o.members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(mustMarshal(m.name))
		b.WriteByte(':')
		if len(m.value) == 0 {
			b.WriteString("null")
		} else {
			b.Write(m.value)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// bytes is the compact JSON of the object.
func (o jsonObject) bytes() []byte {
	b, _ := o.MarshalJSON() // never fails
	return b
}

// str returns a string member; "" when absent, null or not a string.
func (o jsonObject) str(name string) string {
	v, ok := o.get(name)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// object returns a member that is an object.
func (o jsonObject) object(name string) (jsonObject, bool) {
	v, ok := o.get(name)
	if !ok || isNull(v) {
		return jsonObject{}, false
	}
	obj, err := parseObject(v)
	return obj, err == nil
}

// objects returns a member that is an array of objects; items that are not
// objects are skipped (a stored document has none: PUT checks).
func (o jsonObject) objects(name string) []jsonObject {
	v, ok := o.get(name)
	if !ok {
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		return nil
	}
	out := make([]jsonObject, 0, len(items))
	for _, item := range items {
		if obj, err := parseObject(item); err == nil {
			out = append(out, obj)
		}
	}
	return out
}

// setObjects sets a member to an array of objects.
func (o *jsonObject) setObjects(name string, items []jsonObject) {
	raw := make([]json.RawMessage, len(items))
	for i, item := range items {
		raw[i] = item.bytes()
	}
	o.setValue(name, raw)
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("emulator: marshal: " + err.Error()) // only plain data is marshalled
	}
	return b
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// sameJSON reports whether two JSON values mean the same to Graph: member
// order, annotations and null-versus-absent members do not count, and a
// passkeyTypes flags value is a set ("synced,deviceBound" is
// "deviceBound,synced"). Absent (nil) equals null.
func sameJSON(a, b json.RawMessage) bool {
	return reflect.DeepEqual(canonicalJSON(a), canonicalJSON(b))
}

func canonicalJSON(raw json.RawMessage) any {
	if isNull(raw) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	return canonicalValue("", v)
}

func canonicalValue(name string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			if isAnnotation(k) || item == nil {
				continue
			}
			out[k] = canonicalValue(k, item)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = canonicalValue("", item)
		}
		return out
	case string:
		if name == "passkeyTypes" {
			return flagsSet(v)
		}
		return v
	default:
		return v
	}
}

// flagsSet is a flags enum value as a sorted, duplicate-free member list.
func flagsSet(s string) string {
	members := splitFlags(s)
	slices.Sort(members)
	return strings.Join(slices.Compact(members), ",")
}

// splitFlags splits a flags enum value into its members, trimmed, without
// empty ones.
func splitFlags(s string) []string {
	var out []string
	for m := range strings.SplitSeq(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// viewOf is the typed view of a stored document. Properties it does not
// model are left out, unknown enum members are kept as strings, null and
// absent are the zero value, and collections are never nil.
func viewOf(doc jsonObject) Fido2Document {
	var d Fido2Document
	_ = json.Unmarshal(doc.bytes(), &d) // stored documents were checked to decode
	return d.Clone()
}

// profileView and targetView are the typed views of one collection item.
func profileView(item jsonObject) PasskeyProfile {
	var p PasskeyProfile
	_ = json.Unmarshal(item.bytes(), &p)
	p.KeyRestrictions = p.KeyRestrictions.clone()
	return p
}

func includeTargetView(item jsonObject) IncludeTarget {
	var t IncludeTarget
	_ = json.Unmarshal(item.bytes(), &t)
	t.AllowedPasskeyProfiles = cloneStrings(t.AllowedPasskeyProfiles)
	return t
}

// findByID returns the first item whose id is id (GUIDs and group ids
// compare without regard to case), or -1.
func findByID(items []jsonObject, id string) int {
	if id == "" {
		return -1
	}
	return slices.IndexFunc(items, func(item jsonObject) bool { return strings.EqualFold(item.str("id"), id) })
}

// The properties Microsoft's v1.0 metadata declares for each type of the
// fido2 document (graph-metadata/passkey-policy-v1.0.xml). Anything else a
// stored document holds is a property of a newer Graph the emulator does not
// model.
const (
	typeFido2         = "fido2AuthenticationMethodConfiguration"
	typeProfile       = "passkeyProfile"
	typeKeyRestrict   = "fido2KeyRestrictions"
	typeIncludeTarget = "passkeyAuthenticationMethodTarget"
	typeExcludeTarget = "excludeTarget"
)

var declaredProperties = map[string][]string{
	typeFido2: {"id", "state", "excludeTargets", "defaultPasskeyProfile", "isAttestationEnforced",
		"isSelfServiceRegistrationAllowed", "keyRestrictions", "includeTargets", "passkeyProfiles"},
	typeProfile:       {"id", "attestationEnforcement", "keyRestrictions", "name", "passkeyTypes"},
	typeKeyRestrict:   {"aaGuids", "enforcementType", "isEnforced"},
	typeIncludeTarget: {"id", "isRegistrationRequired", "targetType", "allowedPasskeyProfiles"},
	typeExcludeTarget: {"id", "targetType"},
}

// The members of the enumerations the fido2 document uses, from the same
// metadata, keyed by the properties that have them.
var declaredMembers = map[string][]string{
	"state":                  {StateEnabled, StateDisabled},
	"passkeyTypes":           {PasskeyTypeDeviceBound, PasskeyTypeSynced, unknownFutureValue},
	"attestationEnforcement": {AttestationDisabled, AttestationRegistrationOnly, unknownFutureValue},
	"enforcementType":        {EnforcementAllow, EnforcementBlock, unknownFutureValue},
	"targetType":             {TargetTypeUser, TargetTypeGroup, unknownFutureValue},
}

// unknownFutureValue is the sentinel member of Graph's evolvable enums.
const unknownFutureValue = "unknownFutureValue"

// tenantModel is what one tenant's Graph knows beyond the v1.0 metadata:
// properties and enum members that documents stored with PUT hold. A PATCH
// may write them (the real tenant's Graph evidently has them); a property
// nothing declares is refused as Graph refuses it on a closed type.
type tenantModel struct {
	props   map[string]map[string]bool // type → property
	members map[string]map[string]bool // enum property → member
}

func (m *tenantModel) hasProperty(typeName, name string) bool {
	return slices.Contains(declaredProperties[typeName], name) || m.props[typeName][name]
}

func (m *tenantModel) hasMember(property, member string) bool {
	return slices.Contains(declaredMembers[property], member) || m.members[property][member]
}

func (m *tenantModel) learnProperty(typeName, name string) {
	if slices.Contains(declaredProperties[typeName], name) || isAnnotation(name) {
		return
	}
	if m.props == nil {
		m.props = map[string]map[string]bool{}
	}
	if m.props[typeName] == nil {
		m.props[typeName] = map[string]bool{}
	}
	m.props[typeName][name] = true
}

func (m *tenantModel) learnMember(property, value string) {
	members := []string{value}
	if property == "passkeyTypes" {
		members = splitFlags(value)
	}
	for _, member := range members {
		if member == "" || slices.Contains(declaredMembers[property], member) {
			continue
		}
		if m.members == nil {
			m.members = map[string]map[string]bool{}
		}
		if m.members[property] == nil {
			m.members[property] = map[string]bool{}
		}
		m.members[property][member] = true
	}
}

// learn records what a stored document holds beyond the metadata.
func (m *tenantModel) learn(doc jsonObject) {
	learnObject := func(typeName string, o jsonObject) {
		for _, name := range o.names() {
			m.learnProperty(typeName, name)
			if _, isEnum := declaredMembers[name]; isEnum {
				if s := o.str(name); s != "" {
					m.learnMember(name, s)
				}
			}
		}
	}
	learnObject(typeFido2, doc)
	if kr, ok := doc.object("keyRestrictions"); ok {
		learnObject(typeKeyRestrict, kr)
	}
	for _, p := range doc.objects("passkeyProfiles") {
		learnObject(typeProfile, p)
		if kr, ok := p.object("keyRestrictions"); ok {
			learnObject(typeKeyRestrict, kr)
		}
	}
	for _, t := range doc.objects("includeTargets") {
		learnObject(typeIncludeTarget, t)
	}
	for _, t := range doc.objects("excludeTargets") {
		learnObject(typeExcludeTarget, t)
	}
}

// storedDocument checks a document given to PUT (or a seed) and returns it
// as the emulator stores it: exactly as given, except that annotations
// (@odata.type, …@odata.context) and the entity id are dropped — GET writes
// them itself — and that the deprecated tenant-wide isAttestationEnforced and
// keyRestrictions, where the document has them, are made equal to the
// default profile's, as Entra keeps them.
func storedDocument(raw []byte) (jsonObject, error) {
	doc, err := parseObject(raw)
	if err != nil {
		return jsonObject{}, fmt.Errorf("fido2 document: %w", err)
	}
	doc = doc.withoutAnnotations()
	if v, ok := doc.get("id"); ok {
		var id string
		if json.Unmarshal(v, &id) != nil || !strings.EqualFold(id, fido2ID) {
			return jsonObject{}, fmt.Errorf("fido2 document: id is %s, want %q", v, fido2ID)
		}
		doc.remove("id")
	}
	if kr, ok := doc.object("keyRestrictions"); ok {
		doc.set("keyRestrictions", kr.withoutAnnotations().bytes())
	}
	for _, name := range []string{"passkeyProfiles", "includeTargets", "excludeTargets"} {
		v, ok := doc.get(name)
		if !ok || isNull(v) {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return jsonObject{}, fmt.Errorf("fido2 document: %s is not an array", name)
		}
		cleaned := make([]jsonObject, len(items))
		for i, item := range items {
			obj, err := parseObject(item)
			if err != nil {
				return jsonObject{}, fmt.Errorf("fido2 document: %s[%d]: %w", name, i, err)
			}
			obj = obj.withoutAnnotations()
			if kr, ok := obj.object("keyRestrictions"); ok {
				obj.set("keyRestrictions", kr.withoutAnnotations().bytes())
			}
			cleaned[i] = obj
		}
		doc.setObjects(name, cleaned)
	}
	// The typed view must be able to read every declared property: a real
	// tenant holds values of the declared types (enum members may be new).
	var typed Fido2Document
	if err := json.Unmarshal(doc.bytes(), &typed); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return jsonObject{}, fmt.Errorf("fido2 document: %s holds a JSON %s, which is not its declared type", typeErr.Field, typeErr.Value)
		}
		return jsonObject{}, fmt.Errorf("fido2 document: %w", err)
	}
	mirrorLegacyFromDefault(&doc)
	return doc, nil
}

// defaultDocument is DefaultFido2Document as a stored document.
func defaultDocument() jsonObject {
	doc, err := parseObject(mustMarshal(DefaultFido2Document()))
	if err != nil {
		panic("emulator: default document: " + err.Error())
	}
	return doc
}
