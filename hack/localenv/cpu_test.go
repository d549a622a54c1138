package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100
// on every architecture Go supports there.
const clockTicks = 100

// stackCPU returns the CPU time (user and system) that the processes this
// one started have used so far, by command (kube-apiserver, etcd, manager,
// entra-emulator), and this one's own under "harness". It reads /proc, as
// the local stack runs on Linux. A sweep's CPU by process shows whose work
// bounds it on a small machine, where the control plane, the emulator and
// the benchmark share the cores with the operator.
func stackCPU(tb testing.TB) map[string]time.Duration {
	tb.Helper()
	var self syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		tb.Fatal(err)
	}
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]time.Duration{"harness": time.Duration(self.Utime.Nano() + self.Stime.Nano())}
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue // the process has exited since
		}
		if p, ok := parseProcStat(string(raw)); ok && p.parent == os.Getpid() {
			out[p.command] += p.cpu
		}
	}
	return out
}

type procStat struct {
	command string
	parent  int
	cpu     time.Duration
}

// parseProcStat reads "pid (comm) state ppid … utime stime …". The command
// may hold spaces and parentheses, so fields are counted from the last ')'.
func parseProcStat(raw string) (procStat, bool) {
	open, end := strings.IndexByte(raw, '('), strings.LastIndexByte(raw, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	fields := strings.Fields(raw[end+1:])
	if len(fields) < 13 {
		return procStat{}, false
	}
	parent, errP := strconv.Atoi(fields[1])
	utime, errU := strconv.ParseInt(fields[11], 10, 64)
	stime, errS := strconv.ParseInt(fields[12], 10, 64)
	if errP != nil || errU != nil || errS != nil {
		return procStat{}, false
	}
	return procStat{command: raw[open+1 : end], parent: parent, cpu: time.Duration(utime+stime) * time.Second / clockTicks}, true
}

func TestParseProcStat(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want procStat
		ok   bool
	}{{
		raw:  "4242 (kube-apiserver) S 4000 4242 4000 0 -1 4194560 90 0 0 0 1234 566 0 0 20 0 12 0",
		want: procStat{command: "kube-apiserver", parent: 4000, cpu: 18 * time.Second},
		ok:   true,
	}, {
		raw:  "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 5 5 0 0",
		want: procStat{command: "a (b) c", parent: 1, cpu: 100 * time.Millisecond},
		ok:   true,
	}, {
		raw: "7 (short) R 1",
	}} {
		got, ok := parseProcStat(tt.raw)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseProcStat(%q) = %+v, %v; want %+v, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}
