package bot

import (
	"slices"
	"strings"
	"sync"
)

// ReadyFunc receives a platform's readiness each time it changes: ready, or not with a one-line reason (never a
// token). The composition root points it at /healthz and the paperboy_platform_ready gauge.
type ReadyFunc func(ready bool, reason string)

// Readiness combines the conditions a platform needs to serve (its connection, its token) into one ready/not
// ready state and reports every change of that state to a ReadyFunc. A platform is ready when none of its
// conditions fails. Its methods are safe for concurrent use; a nil *Readiness ignores everything.
type Readiness struct {
	report ReadyFunc

	mu      sync.Mutex
	failing map[string]string // condition -> reason
	order   []string          // failing conditions, oldest first, so the reason is stable
	known   bool              // a state was reported
	ready   bool
	reason  string
}

// NewReadiness returns a Readiness reporting to report (which may be nil). It starts ready and reports nothing
// until a condition fails.
func NewReadiness(report ReadyFunc) *Readiness {
	return &Readiness{report: report, failing: map[string]string{}, ready: true}
}

// Fail records that cond fails for reason, and reports the platform not ready if that changes its state or
// reason. It returns true when cond was not failing before, so callers can log a transition once.
func (r *Readiness) Fail(cond, reason string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, was := r.failing[cond]
	r.failing[cond] = reason
	if !was {
		r.order = append(r.order, cond)
	}
	r.publish()
	return !was
}

// OK records that cond holds again, and reports the platform ready if no other condition fails. It returns true
// when cond was failing before.
func (r *Readiness) OK(cond string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, was := r.failing[cond]; !was {
		if !r.known {
			r.publish()
		}
		return false
	}
	delete(r.failing, cond)
	r.order = slices.DeleteFunc(r.order, func(c string) bool { return c == cond })
	r.publish()
	return true
}

// Ready returns the current state and, when not ready, the reasons of the failing conditions.
func (r *Readiness) Ready() (bool, string) {
	if r == nil {
		return true, ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ready, r.reason
}

// publish recomputes the state and reports it when it changed; r.mu must be held, so that reports arrive in
// the order of the changes.
func (r *Readiness) publish() {
	reasons := make([]string, 0, len(r.order))
	for _, c := range r.order {
		reasons = append(reasons, r.failing[c])
	}
	ready, reason := len(reasons) == 0, strings.Join(reasons, "; ")
	if r.known && ready == r.ready && reason == r.reason {
		return
	}
	r.known, r.ready, r.reason = true, ready, reason
	if r.report != nil {
		r.report(ready, reason)
	}
}
