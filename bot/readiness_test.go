package bot

import (
	"fmt"
	"testing"
)

func TestReadiness(t *testing.T) {
	var got []string
	r := NewReadiness(func(ready bool, reason string) { got = append(got, fmt.Sprintf("%v %s", ready, reason)) })
	steps := []struct {
		name string
		do   func() bool
		want bool // the transition flag
	}{
		{"connection fails", func() bool { return r.Fail("connection", "not connected yet") }, true},
		{"same reason again", func() bool { return r.Fail("connection", "not connected yet") }, false},
		{"new reason", func() bool { return r.Fail("connection", "register: 500") }, false},
		{"token fails too", func() bool { return r.Fail("token", "401; fix TOKEN") }, true},
		{"connection back", func() bool { return r.OK("connection") }, true},
		{"connection back again", func() bool { return r.OK("connection") }, false},
		{"token back", func() bool { return r.OK("token") }, true},
	}
	for _, s := range steps {
		if flag := s.do(); flag != s.want {
			t.Errorf("%s: returned %v, want %v", s.name, flag, s.want)
		}
	}
	want := []string{
		"false not connected yet",
		"false register: 500",
		"false register: 500; 401; fix TOKEN",
		"false 401; fix TOKEN",
		"true ",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reports %q, want %q", got, want)
	}
	if ok, reason := r.Ready(); !ok || reason != "" {
		t.Errorf("Ready() = %v %q", ok, reason)
	}
	var none *Readiness
	if none.Fail("x", "y") || none.OK("x") {
		t.Error("a nil Readiness reported a transition")
	}
}
