package trend

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRenderPNG(t *testing.T) {
	many := Input{End: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Weeks: 52}
	for i := range 12 {
		many.Subscriptions = append(many.Subscriptions, fmt.Sprintf("subscription number %d with a rather long query text", i))
	}
	for d := range 52 * 7 {
		many.Docs = append(many.Docs, Doc{Published: many.End.Add(-time.Duration(d)*24*time.Hour - time.Hour), Text: "eeg mamba", Subs: []int{d % 12}})
	}
	tests := []struct {
		name string
		in   Input
	}{
		{"fixture", loadFixture(t)},
		{"empty channel", Input{End: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Weeks: 8}},
		{"a year of 12 subscriptions", many},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Render(Compute(tt.in), "#ml-papers: papers per week")
			if err != nil {
				t.Fatal(err)
			}
			// TRENDS_PNG=/tmp/trends go test -run TestRenderPNG writes each chart to look at.
			if out := os.Getenv("TRENDS_PNG"); out != "" {
				if err := os.WriteFile(out+"-"+strings.ReplaceAll(tt.name, " ", "-")+".png", b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if got := img.Bounds().Size(); got.X != WidthPx || got.Y != HeightPx {
				t.Fatalf("size %v, want %dx%d", got, WidthPx, HeightPx)
			}
			colors := map[color.RGBA]bool{}
			ink := 0
			for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
				for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
					r, g, b, _ := img.At(x, y).RGBA()
					c := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 0xff}
					colors[c] = true
					if c != (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
						ink++
					}
				}
			}
			// Text, axes and anti-aliased lines give hundreds of shades; a blank or one-colour image has 1 or 2.
			if len(colors) < 50 {
				t.Errorf("only %d distinct colours: the chart looks blank", len(colors))
			}
			if share := float64(ink) / float64(WidthPx*HeightPx); share < 0.02 || share > 0.6 {
				t.Errorf("%.1f%% of the pixels are not background, want between 2%% and 60%%", 100*share)
			}
		})
	}
}
