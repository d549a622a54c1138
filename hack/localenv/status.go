package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// resourceStatus is one line of the status display.
type resourceStatus struct {
	// ref is "Kind namespace/name" (or "Kind name" when cluster-scoped).
	ref        string
	generation int64
	status     passkeysv1alpha1.SyncStatus
}

// summary says in a few words where a resource stands, the way a person
// reads the conditions: drift first (it is also Stalled under Report), then
// Stalled, then Ready.
func (r resourceStatus) summary() (ready bool, text string) {
	s := r.status
	if s.ObservedGeneration != r.generation {
		return false, "Pending (not reconciled yet)"
	}
	ready = meta.IsStatusConditionTrue(s.Conditions, passkeysv1alpha1.ConditionReady)
	if meta.IsStatusConditionTrue(s.Conditions, passkeysv1alpha1.ConditionDrifted) {
		var fields []string
		for _, d := range s.Drift {
			fields = append(fields, fmt.Sprintf("%s (Git %s, Entra %s)", d.Field, d.Desired, d.Observed))
		}
		return ready, "Drifted: " + strings.Join(fields, "; ")
	}
	if c := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		return false, fmt.Sprintf("Stalled %s: %s", c.Reason, c.Message)
	}
	c := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionReady)
	switch {
	case c == nil:
		return false, "Pending"
	case ready:
		return true, "Ready"
	default:
		return false, fmt.Sprintf("Not ready %s: %s", c.Reason, c.Message)
	}
}

func (s *stack) listStatuses(ctx context.Context) ([]resourceStatus, error) {
	c := s.env.Client
	var tenants passkeysv1alpha1.EntraTenantList
	var profiles passkeysv1alpha1.PasskeyProfileList
	var assignments passkeysv1alpha1.GroupAssignmentList
	for _, list := range []client.ObjectList{&tenants, &profiles, &assignments} {
		if err := c.List(ctx, list); err != nil {
			return nil, fmt.Errorf("listing: %w", err)
		}
	}
	var out []resourceStatus
	for _, t := range tenants.Items {
		out = append(out, resourceStatus{"EntraTenant " + t.Name, t.Generation, t.Status.SyncStatus})
	}
	for _, p := range profiles.Items {
		out = append(out, resourceStatus{"PasskeyProfile " + p.Namespace + "/" + p.Name, p.Generation, p.Status.SyncStatus})
	}
	for _, a := range assignments.Items {
		out = append(out, resourceStatus{"GroupAssignment " + a.Namespace + "/" + a.Name, a.Generation, a.Status.SyncStatus})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ref < out[j].ref })
	return out, nil
}

// watch prints each resource's summary whenever it changes; once everything
// is Ready the first time it writes the env file and says what to do next.
// It returns when ctx is done or a process of the stack dies.
func (s *stack) watch(ctx context.Context, readyTimeout time.Duration) error {
	shown := map[string]string{}
	seenEvents := map[types.UID]bool{}
	allReadyOnce := false
	deadline := time.Now().Add(readyTimeout)
	warned := false
	for {
		statuses, err := s.listStatuses(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		allReady := len(statuses) > 0
		for _, r := range statuses {
			ready, text := r.summary()
			allReady = allReady && ready
			if shown[r.ref] != text {
				shown[r.ref] = text
				fmt.Fprintf(s.out, "%s  %-45s %s\n", time.Now().Format("15:04:05"), r.ref, text)
			}
		}
		s.printNewEvents(ctx, seenEvents)
		if allReady && !allReadyOnce {
			allReadyOnce = true
			if err := s.writeEnvFile(); err != nil {
				return err
			}
			go s.afterReady(ctx)
		}
		if !allReadyOnce && !warned && time.Now().After(deadline) {
			warned = true
			fmt.Fprintf(s.out, "Not everything is Ready after %s: see the reasons above and %s/manager.log.\n", readyTimeout, s.dir)
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(s.out, "Stopping ...")
			return nil
		case <-s.manager.exited:
			return fmt.Errorf("the operator exited (%w); its log is %s", s.manager.err, s.manager.log)
		case <-s.emulator.exited:
			return fmt.Errorf("entra-emulator exited (%w); its log is %s", s.emulator.err, s.emulator.log)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// printNewEvents shows the operator's events, which say what it changed or
// corrected, where a status alone would not change.
func (s *stack) printNewEvents(ctx context.Context, seen map[types.UID]bool) {
	var events eventsv1.EventList
	if err := s.env.Client.List(ctx, &events); err != nil {
		return
	}
	sort.SliceStable(events.Items, func(i, j int) bool {
		return events.Items[i].CreationTimestamp.Before(&events.Items[j].CreationTimestamp)
	})
	for _, e := range events.Items {
		if seen[e.UID] {
			continue
		}
		seen[e.UID] = true
		ref := e.Regarding.Kind + " " + e.Regarding.Name
		if e.Regarding.Namespace != "" {
			ref = e.Regarding.Kind + " " + e.Regarding.Namespace + "/" + e.Regarding.Name
		}
		fmt.Fprintf(s.out, "%s  %-45s event %s %s: %s\n", time.Now().Format("15:04:05"), ref, e.Type, e.Reason, e.Note)
	}
}

// afterReady runs the drift demo when asked to, then says what to do next.
func (s *stack) afterReady(ctx context.Context) {
	if s.demo {
		if err := s.demoDrift(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			fmt.Fprintf(s.out, "The drift demo failed: %v\n", err)
		}
	}
	s.printNextSteps()
}

func (s *stack) writeEnvFile() error {
	return envFile{
		envKubeconfig:   s.kubeconfigPath(),
		envEmulatorURL:  s.emulatorURL,
		envEmulatorCA:   s.emulatorCA,
		envTenantID:     demoTenantID,
		envClientID:     demoClientID,
		envClientSecret: s.clientSecret,
		envLocalDir:     s.dir,
		envCatalog:      s.catalogURL(),
		envCatalogRoot:  s.catalogRootPath(),
	}.write(s.dir, s.binDir)
}
