package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// portalEditCommand changes one passkey profile in the emulator's demo
// tenant the way an admin clicking in the Entra portal would: behind the
// operator's back, through the emulator's admin API.
func portalEditCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("portal-edit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := dirFlag(fs)
	profile := fs.String("profile", "", "name of the passkey profile in Entra (the PasskeyProfile's displayName)")
	types := fs.String("passkey-types", "", "comma-separated passkey types to set: deviceBound, synced")
	attestation := fs.String("attestation", "", "attestation enforcement to set: disabled or registrationOnly")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile == "" || (*types == "" && *attestation == "") {
		fs.Usage()
		return errors.New("--profile and at least one of --passkey-types or --attestation are needed")
	}
	env, err := readEnvFile(*dir)
	if err != nil {
		return err
	}
	url, ca, tenant := env[envEmulatorURL], env[envEmulatorCA], env[envTenantID]
	path := "/_emulator/tenants/" + tenant + "/fido2"
	raw, err := emulatorAdminRequest(url, ca, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	body, err := editProfile(raw, *profile, *types, *attestation)
	if err != nil {
		return err
	}
	if _, err := emulatorAdminRequest(url, ca, http.MethodPatch, path, body); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Changed profile %q in tenant %s as the portal would.\n", *profile, tenant)
	return nil
}

// editProfile takes the emulator's answer to GET .../fido2 and returns the
// PATCH body that changes one profile. Entra replaces a collection whole, so
// the body carries every profile, the edited one among them.
func editProfile(getReply []byte, name, types, attestation string) ([]byte, error) {
	profiles, err := profilesOf(getReply)
	if err != nil {
		return nil, err
	}
	var names []string
	found := false
	for _, p := range profiles {
		names = append(names, fmt.Sprint(p["name"]))
		if p["name"] != name {
			continue
		}
		found = true
		if types != "" {
			p["passkeyTypes"] = types
		}
		if attestation != "" {
			p["attestationEnforcement"] = attestation
		}
	}
	if !found {
		return nil, fmt.Errorf("no passkey profile named %q in the tenant; it has: %s", name, strings.Join(names, ", "))
	}
	return json.Marshal(map[string]any{"passkeyProfiles": profiles})
}

// profilesOf reads the passkey profiles from the emulator's answer to
// GET /_emulator/tenants/{tenant}/fido2.
func profilesOf(getReply []byte) ([]map[string]any, error) {
	var reply struct {
		Document struct {
			PasskeyProfiles []map[string]any `json:"passkeyProfiles"`
		} `json:"document"`
	}
	if err := json.Unmarshal(getReply, &reply); err != nil {
		return nil, fmt.Errorf("reading the policy: %w", err)
	}
	return reply.Document.PasskeyProfiles, nil
}
