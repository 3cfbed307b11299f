// Package app wires Guildhall's parts into runnable processes: every service
// and the gateway in one process (dev), or one part per process (serve). It
// sits above the services and the gateway and is the only package that
// knows them all; each service describes itself (service.Descriptor).
package app

import (
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/outbox"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/events"
	"github.com/guildhall/guildhall/services/finance"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
)

// Services returns every service, membership first (the others refer to its
// people and teams when seeding), events last (the others write to it).
func Services() []service.Descriptor {
	return []service.Descriptor{membership.Service(), roadmap.Service(), finance.Service(), events.Service()}
}

// Lines are the platform's migration lines: the tables platform packages
// keep in every service's schema, applied before the service's own.
func Lines() []database.Line {
	return []database.Line{idempotency.Line(), outbox.Line()}
}

// Lookup returns the named service.
func Lookup(name string) (service.Descriptor, bool) {
	for _, s := range Services() {
		if s.Name == name {
			return s, true
		}
	}
	return service.Descriptor{}, false
}

// Targets returns where each service is reached over gRPC, by service name,
// from the configuration (GUILDHALL_<SERVICE>_TARGET).
func Targets(cfg *config.Config) map[string]string {
	targets := map[string]string{}
	for _, s := range config.Services {
		targets[s] = cfg.Service[s].Target
	}
	return targets
}

// ServeAllAt points every service's target at one address, for a process
// that serves them all on one listener (dev, tests).
func ServeAllAt(cfg *config.Config, addr string) {
	for _, s := range config.Services {
		cfg.Service[s].Target = addr
	}
}
