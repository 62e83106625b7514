package trend

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden is the part of a Result a user reads off the chart: the counts per week and the rising terms.
type golden struct {
	Weeks  []string
	Counts map[string][]int
	Papers []int
	Rising []goldenTerm
}

type goldenTerm struct {
	Word            string
	Z               string
	Recent, Earlier int
}

func loadFixture(t *testing.T) Input {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in Input
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestComputeGolden(t *testing.T) {
	r := Compute(loadFixture(t))
	g := golden{Counts: map[string][]int{}, Papers: r.Papers}
	for i := range r.Starts {
		g.Weeks = append(g.Weeks, r.Starts[i].Format(time.DateOnly))
	}
	for i, s := range r.Subscriptions {
		g.Counts[s] = r.Counts[i]
	}
	for _, term := range r.Rising {
		// Two decimals: the ranking is what matters, and float noise across platforms must not break the test.
		g.Rising = append(g.Rising, goldenTerm{Word: term.Word, Z: strconvZ(term.Z), Recent: term.Recent, Earlier: term.Earlier})
	}
	got, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "fixture.golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("trend of the fixture differs from %s (go test -run TestComputeGolden -update rewrites it):\n%s", path, got)
	}
}

func strconvZ(z float64) string { return strconv.FormatFloat(z, 'f', 2, 64) }

func TestRisingByHand(t *testing.T) {
	// n_recent=7, n_earlier=6, alpha_0=13; x: alpha=3, f_recent=6, f_earlier=3:
	// delta = ln(6/(7+13-6)) - ln(3/(6+13-3)) = 0.8267; sigma = sqrt(1/6+1/3) = 0.7071; z = 1.169.
	// y fell (3 of 6 against 6 of 6), so it is not rising; z, too rare this week (minRecent), is left out.
	got := Rising(map[string]int{"x": 3, "y": 3, "z": 1}, map[string]int{"y": 6}, 5)
	if len(got) != 1 || got[0].Word != "x" || strconvZ(got[0].Z) != "1.17" || got[0].Recent != 3 || got[0].Earlier != 0 {
		t.Fatalf("Rising = %+v, want only x with z 1.17", got)
	}
	if got := Rising(map[string]int{"x": 3}, nil, 5); got != nil {
		t.Errorf("Rising without earlier weeks = %+v, want none", got)
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Mamba state-space encoders for EEG", []string{"mamba", "state-space", "encoders", "eeg"}},
		{"We propose a novel approach in 2024 with $\\alpha$ = 0.5", nil},
		{"Self-supervised ViT-22B", []string{"self-supervised", "vit-22b"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Tokens(tt.in)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestComparable(t *testing.T) {
	tests := []struct {
		papers []int
		want   bool
	}{
		{[]int{1, 0, 2}, true},
		{[]int{0, 0, 2}, false},
		{[]int{3, 1, 0}, false},
		{[]int{2}, false},
	}
	for _, tt := range tests {
		if got := (Result{Papers: tt.papers}).Comparable(); got != tt.want {
			t.Errorf("Comparable(%v) = %v, want %v", tt.papers, got, tt.want)
		}
	}
}
