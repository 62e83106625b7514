package testkit

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// TestPeakRSS checks the unit conversion: the peak is at least what the Go runtime has obtained from the
// system that is still mapped and resident-ish (HeapInuse), and far below a terabyte (kilobytes read as bytes
// on Darwin, or bytes read as kilobytes on Linux, would miss one of the bounds by a factor of 1024).
func TestPeakRSS(t *testing.T) {
	rss, ok, err := peakRSS()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		if runtime.GOOS != "windows" && runtime.GOOS != "plan9" && runtime.GOOS != "js" && runtime.GOOS != "wasip1" {
			t.Fatalf("peakRSS unavailable on %s", runtime.GOOS)
		}
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if rss < int64(ms.HeapInuse) || rss > 1<<40 {
		t.Fatalf("peak RSS %d bytes; heap in use %d bytes", rss, ms.HeapInuse)
	}
}

// TestCrossPlatformVet type-checks this package and its tests for Windows and macOS: getrusage is unix-only, and a
// benchmark helper that names it unguarded breaks `GOOS=windows go build ./...` for the whole module.
func TestCrossPlatformVet(t *testing.T) {
	for _, goos := range []string{"windows", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), "go", "vet", ".")
			cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("GOOS=%s go vet: %v\n%s", goos, err, out.String())
			}
		})
	}
}
