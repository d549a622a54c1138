package specs

import (
	"fmt"
	"regexp"
	"strings"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Catalog is the authenticator catalog that names resolve in, and names
// are shown from. The zero value is no catalog.
type Catalog struct {
	// Models is the catalog; nil when none is loaded.
	Models *mds.Catalog
	// NotLoaded says why Models is nil, for people ("" when not known).
	NotLoaded string
	// Offline: without Models, names are left unresolved rather than a
	// problem, for checks made where no catalog can be (passkeyctl
	// validate); the operator and passkeyctl diff resolve them.
	Offline bool
}

// Name is the name of the model with this AAGUID, "" when not known.
func (c Catalog) Name(aaguid string) string { return c.Models.Name(aaguid) }

// Label is "Name [aaguid]", or the AAGUID alone when its name is not known.
func (c Catalog) Label(aaguid string) string { return AuthenticatorLabel(aaguid, c.Name(aaguid)) }

// AuthenticatorLabel is how people read an AAGUID: "Name [aaguid]", or the
// AAGUID alone when name is "".
func AuthenticatorLabel(aaguid, name string) string {
	if name == "" {
		return aaguid
	}
	return name + " [" + aaguid + "]"
}

// guid finds GUIDs in text, such as a drift entry's list of AAGUIDs.
var guid = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)

// LabelAll labels, as Label does, every AAGUID in s whose name the catalog
// knows: "[2fc0579f-…]" becomes "[YubiKey 5 Series with NFC [2fc0579f-…]]".
func (c Catalog) LabelAll(s string) string {
	if !c.Models.Loaded() {
		return s
	}
	return guid.ReplaceAllStringFunc(s, c.Label)
}

// Authenticators lists the models k names, for status: each AAGUID of
// k.AAGUIDs as written, then each model an entry of k.Authenticators
// resolves to that is not listed already, with the entry that selected it;
// names come from the catalog. problem says why the entries could not all
// be resolved; the models are then those of aaguids alone, and the profile
// is not written: an allow-list without the named models would lock their
// users out, a block-list without them would let them in.
func Authenticators(k *passkeysv1alpha1.KeyRestrictions, c Catalog) (models []passkeysv1alpha1.AuthenticatorModel, problem *policy.Problem) {
	if k == nil {
		return nil, nil
	}
	listed := map[string]bool{}
	for _, id := range k.AAGUIDs {
		listed[strings.ToLower(id)] = true
		models = append(models, passkeysv1alpha1.AuthenticatorModel{AAGUID: id, Name: c.Name(id)})
	}
	if len(k.Authenticators) == 0 {
		return models, nil
	}
	switch {
	case !c.Models.Loaded() && c.Offline:
		return models, nil
	case !c.Models.Loaded():
		return models, &policy.Problem{Reason: policy.ReasonAuthenticatorCatalogUnavailable, Message: catalogUnavailable(c.NotLoaded)}
	}
	var resolved []passkeysv1alpha1.AuthenticatorModel
	for _, selector := range k.Authenticators {
		found := c.Models.Resolve(selector)
		if len(found) == 0 {
			return models, &policy.Problem{Reason: policy.ReasonAuthenticatorNotFound, Message: fmt.Sprintf(
				"spec.keyRestrictions.authenticators entry %q matches no model in the authenticator catalog (FIDO MDS3 BLOB no. %d, %d models); "+
					"check the name, use * for any run of characters, or list the AAGUID in aaguids", selector, c.Models.Number(), c.Models.Len())}
		}
		for _, m := range found {
			if listed[m.AAGUID] {
				continue
			}
			listed[m.AAGUID] = true
			resolved = append(resolved, passkeysv1alpha1.AuthenticatorModel{AAGUID: m.AAGUID, Name: m.Name, Selector: selector})
		}
	}
	return append(models, resolved...), nil
}

func catalogUnavailable(why string) string {
	msg := "spec.keyRestrictions.authenticators selects models by name, but no authenticator catalog (FIDO MDS3) is loaded"
	if why != "" {
		msg += " (" + why + ")"
	}
	return msg + ", so the profile is left in Entra as it is; list the models' AAGUIDs in aaguids instead, or see docs/authenticators.md"
}

// AAGUIDs are the AAGUIDs of models, in order.
func AAGUIDs(models []passkeysv1alpha1.AuthenticatorModel) []string {
	if len(models) == 0 {
		return nil
	}
	out := make([]string, 0, len(models))
	for _, m := range models {
		out = append(out, m.AAGUID)
	}
	return out
}
