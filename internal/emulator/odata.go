package emulator

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// This file decodes PATCH bodies the way Graph's OData layer does, with its
// error messages, into the JSON the emulator stores. A value equal to the
// stored one is no change and passes unchecked — a client may resend
// whatever it read, including properties and enum members the emulator does
// not model. A value that changes is checked against Microsoft's v1.0
// metadata (types, nullability, enum members) and the tenant's model
// (properties and members its stored document showed to exist).

const msgUnreadableJSON = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."

// valueDecoder checks one changed property value and returns it as it is
// to be stored.
type valueDecoder func(raw json.RawMessage) (json.RawMessage, *graphError)

// patchDecoder decodes a PATCH against a tenant's stored document.
type patchDecoder struct {
	model *tenantModel
}

// decodeFido2Patch reads a PATCH body of the fido2 configuration. Graph
// requires the @odata.type annotation on this update; the admin API's portal
// edits do not (requireType false).
func decodeFido2Patch(body []byte, requireType bool, stored jsonObject, model *tenantModel) (fido2Patch, *graphError) {
	if !json.Valid(body) {
		return fido2Patch{}, odataError(msgUnreadableJSON)
	}
	trimmed := bytes.TrimSpace(body)
	if trimmed[0] != '{' {
		return fido2Patch{}, odataError("An unexpected '%s' node was found when reading from the JSON reader. A 'StartObject' node was expected.", jsonNodeKind(trimmed))
	}
	obj, err := parseObject(trimmed)
	if err != nil {
		return fido2Patch{}, odataError(msgUnreadableJSON)
	}
	if _, ok := obj.get("@odata.type"); requireType && !ok {
		return fido2Patch{}, odataError("The request body must include '@odata.type' with the value '%s'.", fido2ODataType)
	}
	d := patchDecoder{model: model}
	p := fido2Patch{sent: map[string]bool{}}
	// Sorted, so the first error reported does not depend on the body's order.
	names := obj.names()
	slices.Sort(names)
	for _, name := range names {
		raw, _ := obj.get(name)
		switch {
		case name == "@odata.type":
			if err := checkODataType(raw, []string{typeFido2}); err != nil {
				return fido2Patch{}, err
			}
			continue
		case isAnnotation(name):
			// Instance and property annotations (@odata.context,
			// includeTargets@odata.context, ...) carry no data.
			continue
		case name == "id":
			if err := checkID(raw); err != nil {
				return fido2Patch{}, err
			}
			continue
		}
		p.sent[name] = true
		current, _ := stored.get(name)
		if sameJSON(current, raw) {
			continue
		}
		value, err := d.topLevel(name, raw, storedObjects(current))
		if err != nil {
			return fido2Patch{}, err
		}
		p.changed.set(name, value)
	}
	return p, nil
}

// storedObjects reads a stored value that is an array of objects or an
// object (nil otherwise).
func storedObjects(raw json.RawMessage) []jsonObject {
	if isNull(raw) {
		return nil
	}
	if obj, err := parseObject(raw); err == nil {
		return []jsonObject{obj}
	}
	var holder jsonObject
	holder.set("v", raw)
	return holder.objects("v")
}

// topLevel decodes a changed member of the fido2 configuration; stored holds
// what the member stores now (its items, or the object).
func (d patchDecoder) topLevel(name string, raw json.RawMessage, stored []jsonObject) (json.RawMessage, *graphError) {
	switch name {
	case "state":
		return d.enum("state", "authenticationMethodState")(raw)
	case "isSelfServiceRegistrationAllowed", "isAttestationEnforced":
		return boolValue(name)(raw)
	case "defaultPasskeyProfile":
		return stringValue(name)(raw)
	case "keyRestrictions":
		var prev *jsonObject
		if len(stored) == 1 {
			prev = &stored[0]
		}
		return d.keyRestrictions(prev)(raw)
	case "passkeyProfiles":
		return d.list(name, "microsoft.graph.passkeyProfile", stored, d.profile)(raw)
	case "includeTargets":
		return d.list(name, "microsoft.graph.passkeyAuthenticationMethodTarget", stored, d.includeTarget)(raw)
	case "excludeTargets":
		return d.list(name, "microsoft.graph.excludeTarget", stored, d.excludeTarget)(raw)
	}
	if d.model.hasProperty(typeFido2, name) {
		return raw, nil // a property of a newer Graph: stored as sent
	}
	return nil, unknownProperty(name, typeFido2)
}

func unknownProperty(name, typeName string) *graphError {
	return odataError("The property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, typeName)
}

// object decodes a JSON object of the named type: members equal to prev's
// are kept as stored, the others go through props (or, for a property the
// metadata does not declare, must be known to the tenant's model).
// acceptedTypes lists the type names an @odata.type annotation may carry.
func (d patchDecoder) object(raw json.RawMessage, typeName string, prev *jsonObject, props map[string]valueDecoder, acceptedTypes ...string) (jsonObject, *graphError) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return jsonObject{}, odataError("An unexpected '%s' node was found when reading from the JSON reader. A 'StartObject' node was expected.", jsonNodeKind(trimmed))
	}
	obj, err := parseObject(trimmed)
	if err != nil {
		return jsonObject{}, odataError(msgUnreadableJSON)
	}
	values := map[string]json.RawMessage{}
	names := obj.names()
	slices.Sort(names)
	for _, name := range names {
		v, _ := obj.get(name)
		switch {
		case name == "@odata.type":
			if err := checkODataType(v, acceptedTypes); err != nil {
				return jsonObject{}, err
			}
			continue
		case isAnnotation(name):
			continue
		}
		if prev != nil {
			if old, ok := prev.get(name); ok && sameJSON(old, v) {
				values[name] = old
				continue
			}
		}
		switch {
		case props[name] != nil:
			value, err := props[name](v)
			if err != nil {
				return jsonObject{}, err
			}
			values[name] = value
		case d.model.hasProperty(typeName, name):
			values[name] = v
		default:
			return jsonObject{}, unknownProperty(name, typeName)
		}
	}
	var out jsonObject
	for _, name := range obj.names() { // the body's order
		if v, ok := values[name]; ok {
			out.set(name, v)
		}
	}
	return out, nil
}

// list decodes a collection of objects; each item is matched by id with a
// stored one, and an item equal to its stored counterpart is kept as stored.
func (d patchDecoder) list(property, elemType string, stored []jsonObject, decodeItem func(json.RawMessage, *jsonObject) (jsonObject, *graphError)) valueDecoder {
	return func(raw json.RawMessage) (json.RawMessage, *graphError) {
		if err := rejectNull(raw, property, "Collection("+elemType+")"); err != nil {
			return nil, err
		}
		trimmed := bytes.TrimSpace(raw)
		if trimmed[0] != '[' {
			return nil, odataError("An unexpected '%s' node was found when reading from the JSON reader. A 'StartArray' node was expected.", jsonNodeKind(trimmed))
		}
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, odataError(msgUnreadableJSON)
		}
		out := make([]jsonObject, 0, len(items))
		for _, raw := range items {
			var prev *jsonObject
			if obj, err := parseObject(raw); err == nil {
				if i := findByID(stored, obj.str("id")); i >= 0 {
					prev = &stored[i]
					if sameJSON(prev.bytes(), raw) {
						out = append(out, prev.clone())
						continue
					}
				}
			}
			obj, err := decodeItem(raw, prev)
			if err != nil {
				return nil, err
			}
			out = append(out, obj)
		}
		var holder jsonObject
		holder.setObjects("v", out)
		v, _ := holder.get("v")
		return v, nil
	}
}

func (d patchDecoder) profile(raw json.RawMessage, prev *jsonObject) (jsonObject, *graphError) {
	var prevKR *jsonObject
	if prev != nil {
		if kr, ok := prev.object("keyRestrictions"); ok {
			prevKR = &kr
		}
	}
	return d.object(raw, typeProfile, prev, map[string]valueDecoder{
		"id":                     profileID,
		"name":                   stringValue("name"),
		"passkeyTypes":           d.passkeyTypes,
		"attestationEnforcement": d.enum("attestationEnforcement", "attestationEnforcement"),
		"keyRestrictions":        d.keyRestrictions(prevKR),
	}, typeProfile)
}

// keyRestrictions decodes a fido2KeyRestrictions; the members a changed one
// leaves out take their defaults (not enforced, block, no AAGUIDs).
func (d patchDecoder) keyRestrictions(prev *jsonObject) valueDecoder {
	return func(raw json.RawMessage) (json.RawMessage, *graphError) {
		if err := rejectNull(raw, "keyRestrictions", "microsoft.graph.fido2KeyRestrictions"); err != nil {
			return nil, err
		}
		obj, err := d.object(raw, typeKeyRestrict, prev, map[string]valueDecoder{
			"isEnforced":      boolValue("isEnforced"),
			"enforcementType": d.enum("enforcementType", "fido2RestrictionEnforcementType"),
			// No GUID check: the metadata types aaGuids as Collection(Edm.String).
			"aaGuids": stringList("aaGuids", "Edm.String"),
		}, typeKeyRestrict)
		if err != nil {
			return nil, err
		}
		for name, value := range map[string]any{"isEnforced": false, "enforcementType": EnforcementBlock, "aaGuids": []string{}} {
			if _, ok := obj.get(name); !ok {
				obj.setValue(name, value)
			}
		}
		return obj.bytes(), nil
	}
}

// includeTarget decodes a passkeyAuthenticationMethodTarget; a new or
// changed one without targetType or isRegistrationRequired (both
// Nullable=false) gets group and false.
func (d patchDecoder) includeTarget(raw json.RawMessage, prev *jsonObject) (jsonObject, *graphError) {
	obj, err := d.object(raw, typeIncludeTarget, prev, map[string]valueDecoder{
		"id":                     stringValue("id"),
		"targetType":             d.enum("targetType", "authenticationMethodTargetType"),
		"isRegistrationRequired": boolValue("isRegistrationRequired"),
		"allowedPasskeyProfiles": stringList("allowedPasskeyProfiles", "Edm.Guid"),
	}, typeIncludeTarget, "authenticationMethodTarget")
	if err != nil {
		return jsonObject{}, err
	}
	if _, ok := obj.get("targetType"); !ok {
		obj.setValue("targetType", TargetTypeGroup)
	}
	if _, ok := obj.get("isRegistrationRequired"); !ok {
		obj.setValue("isRegistrationRequired", false)
	}
	return obj, nil
}

func (d patchDecoder) excludeTarget(raw json.RawMessage, prev *jsonObject) (jsonObject, *graphError) {
	obj, err := d.object(raw, typeExcludeTarget, prev, map[string]valueDecoder{
		"id":         stringValue("id"),
		"targetType": d.enum("targetType", "authenticationMethodTargetType"),
	}, typeExcludeTarget)
	if err != nil {
		return jsonObject{}, err
	}
	if _, ok := obj.get("targetType"); !ok {
		obj.setValue("targetType", TargetTypeGroup)
	}
	return obj, nil
}

// enum decodes a member of an enumeration: one the metadata declares or the
// tenant's model knows. Graph reports an unknown member with .NET's
// enum-parse message.
func (d patchDecoder) enum(property, enumType string) valueDecoder {
	return func(raw json.RawMessage) (json.RawMessage, *graphError) {
		if err := rejectNull(raw, property, "microsoft.graph."+enumType); err != nil {
			return nil, err
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, odataError("Cannot convert the literal '%s' to the expected type 'microsoft.graph.%s'.", bytes.TrimSpace(raw), enumType)
		}
		if !d.model.hasMember(property, s) {
			return nil, odataError("Requested value '%s' was not found.", s)
		}
		return mustMarshal(s), nil
	}
}

// passkeyTypes decodes the passkeyTypes flags enum (members joined by
// commas) and writes it in the enum's member order, as Graph serializes
// flags: "synced, deviceBound" is stored as "deviceBound,synced".
func (d patchDecoder) passkeyTypes(raw json.RawMessage) (json.RawMessage, *graphError) {
	if err := rejectNull(raw, "passkeyTypes", "microsoft.graph.passkeyTypes"); err != nil {
		return nil, err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, odataError("Cannot convert the literal '%s' to the expected type 'microsoft.graph.passkeyTypes'.", bytes.TrimSpace(raw))
	}
	for _, m := range splitFlags(s) {
		if !d.model.hasMember("passkeyTypes", m) {
			return nil, odataError("Requested value '%s' was not found.", m)
		}
	}
	// "" alone is an empty flags value; the rules refuse it with a clearer
	// message than the enum parser would.
	return mustMarshal(canonicalPasskeyTypes(s)), nil
}

// checkID accepts the entity id in a PATCH body only if it names this
// entity: an update cannot rename it.
func checkID(raw json.RawMessage) *graphError {
	v, err := stringValue("id")(raw)
	if err != nil {
		return err
	}
	var id string
	_ = json.Unmarshal(v, &id)
	if !strings.EqualFold(id, fido2ID) {
		return odataError("The key property 'id' cannot be changed: the request body has '%s' but the entity is '%s'.", id, fido2ID)
	}
	return nil
}

// checkODataType accepts "#microsoft.graph.T" or "microsoft.graph.T" for an
// accepted T and refuses any other type, as a derived-type mismatch.
func checkODataType(raw json.RawMessage, accepted []string) *graphError {
	var t string
	if err := json.Unmarshal(raw, &t); err != nil {
		return odataError("The value of the '@odata.type' annotation must be a string.")
	}
	name := strings.TrimPrefix(strings.TrimPrefix(t, "#"), "microsoft.graph.")
	if !slices.Contains(accepted, name) {
		return odataError("A type named '%s' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", t)
	}
	return nil
}

// jsonNodeKind names the JSON node raw starts with, as OData's reader does.
func jsonNodeKind(raw json.RawMessage) string {
	switch {
	case len(raw) == 0:
		return "EndOfInput"
	case raw[0] == '[':
		return "StartArray"
	case raw[0] == '{':
		return "StartObject"
	default:
		return "PrimitiveValue"
	}
}

// primitive decodes a non-null JSON value of an Edm primitive type and
// returns it re-encoded.
func primitive[T any](property, edmType string) valueDecoder {
	return func(raw json.RawMessage) (json.RawMessage, *graphError) {
		var v T
		if err := rejectNull(raw, property, edmType); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, odataError("Cannot convert the literal '%s' to the expected type '%s'.", bytes.TrimSpace(raw), edmType)
		}
		return mustMarshal(v), nil
	}
}

func stringValue(property string) valueDecoder {
	return primitive[string](property, "Edm.String")
}

// profileID decodes a passkey profile's id, which a new profile may leave
// null (or out): the service assigns it.
func profileID(raw json.RawMessage) (json.RawMessage, *graphError) {
	if isNull(raw) {
		return json.RawMessage("null"), nil
	}
	return stringValue("id")(raw)
}

// boolValue decodes an Edm.Boolean. Like Graph's OData reader, which converts
// primitive values to the declared type, it also takes the strings "true"
// and "false" (the Graph documentation's own older fido2 update example sends
// "isAttestationEnforced": "true"), and stores a JSON boolean.
func boolValue(property string) valueDecoder {
	asBool := primitive[bool](property, "Edm.Boolean")
	return func(raw json.RawMessage) (json.RawMessage, *graphError) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			switch strings.ToLower(s) {
			case "true":
				return json.RawMessage("true"), nil
			case "false":
				return json.RawMessage("false"), nil
			}
		}
		return asBool(raw)
	}
}

// stringList decodes a collection of strings (Edm.String) or GUIDs
// (Edm.Guid); an empty array stays empty.
func stringList(property, edmType string) valueDecoder {
	collection := "Collection(" + edmType + ")"
	return func(raw json.RawMessage) (json.RawMessage, *graphError) {
		if err := rejectNull(raw, property, collection); err != nil {
			return nil, err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, odataError("Cannot convert the literal '%s' to the expected type '%s'.", bytes.TrimSpace(raw), collection)
		}
		out := make([]string, 0, len(items))
		for _, item := range items {
			var s string
			if isNull(item) || json.Unmarshal(item, &s) != nil || (edmType == "Edm.Guid" && !isGUID(s)) {
				return nil, odataError("Cannot convert the literal '%s' to the expected type '%s'.", bytes.TrimSpace(item), edmType)
			}
			out = append(out, s)
		}
		return mustMarshal(out), nil
	}
}

// rejectNull refuses null for a property a write changes: the fido2
// document's properties are not nullable on write (a stored null may be
// resent unchanged).
func rejectNull(raw json.RawMessage, property, edmType string) *graphError {
	if isNull(raw) {
		return odataError("A null value was found for the property named '%s', which has the expected type '%s[Nullable=False]'. The expected type '%s[Nullable=False]' does not allow null values.", property, edmType, edmType)
	}
	return nil
}
