package emulator

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// This file decodes request bodies the way Graph's OData layer does, with
// its error messages: a typed decoder per property, so the emulator knows
// which properties a PATCH carried and refuses what OData would refuse.

// fields maps a property name to the decoder of its value.
type fields map[string]func(json.RawMessage) *graphError

// decodeObject decodes raw, a JSON object of the named microsoft.graph type,
// with one decoder per known property. acceptedTypes lists the type names
// (without namespace) an @odata.type annotation may carry.
func decodeObject(raw json.RawMessage, typeName string, props fields, acceptedTypes ...string) *graphError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return odataError("An unexpected '%s' node was found when reading from the JSON reader. A 'StartObject' node was expected.", jsonNodeKind(raw))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return odataError("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	// Sorted, so the first error reported does not depend on map order.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case k == "@odata.type":
			if err := checkODataType(m[k], acceptedTypes); err != nil {
				return err
			}
		case strings.Contains(k, "@"):
			// Instance and property annotations (@odata.context,
			// includeTargets@odata.context, ...) carry no data.
		case props[k] != nil:
			if err := props[k](m[k]); err != nil {
				return err
			}
		default:
			return odataError("The property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", k, typeName)
		}
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

// valueDecoder decodes one property value.
type valueDecoder[T any] func(json.RawMessage) (T, *graphError)

// into stores a decoded value in dst.
func into[T any](dst *T, decode valueDecoder[T]) func(json.RawMessage) *graphError {
	return func(raw json.RawMessage) *graphError {
		v, err := decode(raw)
		if err != nil {
			return err
		}
		*dst = v
		return nil
	}
}

// optional stores a decoded value in a new *T, so nil keeps meaning absent.
func optional[T any](dst **T, decode valueDecoder[T]) func(json.RawMessage) *graphError {
	return func(raw json.RawMessage) *graphError {
		v, err := decode(raw)
		if err != nil {
			return err
		}
		*dst = &v
		return nil
	}
}

// primitive decodes a non-null JSON value of an Edm primitive type.
func primitive[T any](property, edmType string) valueDecoder[T] {
	return func(raw json.RawMessage) (T, *graphError) {
		var v T
		if err := rejectNull(raw, property, edmType); err != nil {
			return v, err
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return v, odataError("Cannot convert the literal '%s' to the expected type '%s'.", bytes.TrimSpace(raw), edmType)
		}
		return v, nil
	}
}

func stringValue(property string) valueDecoder[string] {
	return primitive[string](property, "Edm.String")
}

// boolValue decodes an Edm.Boolean. Like Graph's OData reader, which converts
// primitive values to the declared type, it also takes the strings "true"
// and "false" (the Graph documentation's own older fido2 update example sends
// "isAttestationEnforced": "true").
func boolValue(property string) valueDecoder[bool] {
	asBool := primitive[bool](property, "Edm.Boolean")
	return func(raw json.RawMessage) (bool, *graphError) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			switch strings.ToLower(s) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return asBool(raw)
	}
}

// enumValue decodes a string that must be one of members. Graph reports an
// unknown member with .NET's enum-parse message.
func enumValue(property string, members ...string) valueDecoder[string] {
	return func(raw json.RawMessage) (string, *graphError) {
		s, err := stringValue(property)(raw)
		if err != nil {
			return "", err
		}
		if !slices.Contains(members, s) {
			return "", odataError("Requested value '%s' was not found.", s)
		}
		return s, nil
	}
}

// stringList decodes a collection of strings; an empty array stays empty.
func stringList(property string) valueDecoder[[]string] {
	return func(raw json.RawMessage) ([]string, *graphError) {
		if err := rejectNull(raw, property, "Collection(Edm.String)"); err != nil {
			return nil, err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, odataError("Cannot convert the literal '%s' to the expected type 'Collection(Edm.String)'.", bytes.TrimSpace(raw))
		}
		out := make([]string, 0, len(items))
		for _, item := range items {
			s, err := stringValue(property)(item)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
}

// listOf decodes a collection of objects of one complex or entity type.
func listOf[T any](property, elemType string, decodeElem valueDecoder[T]) valueDecoder[[]T] {
	return func(raw json.RawMessage) ([]T, *graphError) {
		if err := rejectNull(raw, property, "Collection("+elemType+")"); err != nil {
			return nil, err
		}
		trimmed := bytes.TrimSpace(raw)
		if trimmed[0] != '[' {
			return nil, odataError("An unexpected '%s' node was found when reading from the JSON reader. A 'StartArray' node was expected.", jsonNodeKind(trimmed))
		}
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, odataError("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		}
		out := make([]T, 0, len(items))
		for _, item := range items {
			v, err := decodeElem(item)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
}

// rejectNull refuses null for a property: none of the fido2 document's
// properties is nullable on write.
func rejectNull(raw json.RawMessage, property, edmType string) *graphError {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return odataError("A null value was found for the property named '%s', which has the expected type '%s[Nullable=False]'. The expected type '%s[Nullable=False]' does not allow null values.", property, edmType, edmType)
	}
	return nil
}
