package app

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildInfo(t *testing.T) {
	recorded := func(mainVersion string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: mainVersion}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		name               string
		stampedV, stampedR string
		read               func() (*debug.BuildInfo, bool)
		want               BuildInfo
	}{
		{"stamped by the release build wins", "v1.2.3", "0123456789abcdef0123", recorded("(devel)", "vcs.revision", "ffff", "vcs.modified", "true"),
			BuildInfo{Version: "v1.2.3", Revision: "0123456789abcdef0123", GoVersion: "go1.26.8"}},
		{"go install module@v1.2.3", "", "", recorded("v1.2.3"),
			BuildInfo{Version: "v1.2.3", GoVersion: "go1.26.8"}},
		{"go build in a modified clone", "", "", recorded("(devel)", "vcs.revision", "abcdef0123456789", "vcs.modified", "true"),
			BuildInfo{Version: "(devel)", Revision: "abcdef0123456789+dirty", GoVersion: "go1.26.8"}},
		{"stamped version, recorded revision", "v2.0.0", "", recorded("(devel)", "vcs.revision", "abc", "vcs.modified", "false"),
			BuildInfo{Version: "v2.0.0", Revision: "abc", GoVersion: "go1.26.8"}},
		{"nothing recorded", "", "", none, BuildInfo{Version: "(devel)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buildInfo(tt.stampedV, tt.stampedR, tt.read); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVersionLine(t *testing.T) {
	// A test binary records no stamp but does record its Go version.
	if v := Version(); !strings.Contains(v, "go1.") {
		t.Errorf("Version() = %q, want the Go version in it", v)
	}
}
