package app

import (
	"runtime/debug"
	"strings"
)

// version and revision are stamped by the release build (.ci/build-static, .goreleaser.yaml) with
//
//	-ldflags "-X github.com/paperboy-bot/paperboy/bot/app.version=v1.2.3 -X github.com/paperboy-bot/paperboy/bot/app.revision=<commit>"
//
// They are variables only because -X can set nothing else; nothing assigns them at run time. Left empty (go run,
// go install, go build without flags), Build falls back to what the Go toolchain recorded.
var (
	version  string
	revision string
)

// BuildInfo says which build is running.
type BuildInfo struct {
	// Version is the release version ("v1.2.3"), the module version go install recorded, or "(devel)".
	Version string
	// Revision is the VCS commit, with "+dirty" when the tree had local changes; "" when unknown.
	Revision string
	// GoVersion is the toolchain that built the binary ("go1.26.8").
	GoVersion string
}

// Build describes this build: the version and revision stamped at link time, else the module version and VCS
// revision the Go toolchain recorded (go install ...@v1.2.3 records the version, go build in a clone the
// revision).
func Build() BuildInfo {
	return buildInfo(version, revision, debug.ReadBuildInfo)
}

// buildInfo is Build with its inputs passed in, so the fallbacks can be tested.
func buildInfo(stampedVersion, stampedRevision string, read func() (*debug.BuildInfo, bool)) BuildInfo {
	b := BuildInfo{Version: stampedVersion, Revision: stampedRevision}
	bi, ok := read()
	if ok {
		b.GoVersion = bi.GoVersion
		if b.Version == "" {
			b.Version = bi.Main.Version
		}
		if b.Revision == "" {
			var dirty bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					b.Revision = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if b.Revision != "" && dirty {
				b.Revision += "+dirty"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	return b
}

// Version describes this build in one line: "v1.2.3 rev 0123456789ab go1.26.8", leaving out what is unknown.
func Version() string {
	b := Build()
	parts := []string{b.Version}
	if b.Revision != "" {
		rev, dirty := strings.CutSuffix(b.Revision, "+dirty")
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		parts = append(parts, "rev "+rev)
	}
	if b.GoVersion != "" {
		parts = append(parts, b.GoVersion)
	}
	return strings.Join(parts, " ")
}
