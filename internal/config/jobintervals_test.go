package config_test

import (
	"strings"
	"testing"
	"time"
)

// GUILDHALL_JOB_INTERVALS sets intervals by job name; anything but
// job=duration is refused, naming the variable and the entry.
func TestJobIntervals(t *testing.T) {
	cfg, err := bind(t, map[string]string{"GUILDHALL_JOB_INTERVALS": "membership.drift=10s, roadmap.outbox=1d"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Complete(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.JobIntervals; len(got) != 2 || got["membership.drift"] != 10*time.Second || got["roadmap.outbox"] != 24*time.Hour {
		t.Errorf("intervals %v", got)
	}
	for _, bad := range []string{"membership.drift", "=10s", "membership.drift=0s", "membership.drift=-1s", "membership.drift=soon"} {
		cfg, err := bind(t, map[string]string{"GUILDHALL_JOB_INTERVALS": bad})
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Complete(); err == nil || !strings.Contains(err.Error(), "GUILDHALL_JOB_INTERVALS") || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v, want an error naming the variable and the entry", bad, err)
		}
	}
}
