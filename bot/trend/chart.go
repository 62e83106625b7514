package trend

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The chart's size in pixels: wide enough for a phone to show it full width and still sharp, and of the
// proportions the chat clients preview without cropping.
const (
	WidthPx  = 1200
	HeightPx = 800
	dpi      = 96
)

// MaxLines is how many subscriptions get a line of their own; the rest are summed into one "others" line, since a
// legend of 20 colours cannot be told apart.
const MaxLines = 7

// okabeIto is the Okabe-Ito palette (Okabe and Ito 2008), safe for the common colour-vision deficiencies, without
// its yellow, which is unreadable on white. Lines also differ by glyph and dash, so that colour is never the only
// cue.
func okabeIto() []color.Color {
	return []color.Color{
		color.RGBA{0x00, 0x72, 0xB2, 0xff}, // blue
		color.RGBA{0xE6, 0x9F, 0x00, 0xff}, // orange
		color.RGBA{0x00, 0x9E, 0x73, 0xff}, // bluish green
		color.RGBA{0xD5, 0x5E, 0x00, 0xff}, // vermillion
		color.RGBA{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
		color.RGBA{0x56, 0xB4, 0xE9, 0xff}, // sky blue
		color.RGBA{0x00, 0x00, 0x00, 0xff}, // black
	}
}

func glyphs() []draw.GlyphDrawer {
	return []draw.GlyphDrawer{
		draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
		draw.PyramidGlyph{}, draw.RingGlyph{}, draw.PlusGlyph{},
	}
}

var otherColor = color.Gray{0x88}

// Explanation is the sentence under the chart that says how the rising terms are chosen.
const Explanation = "Rising terms: words of titles and abstracts whose share of the last week's matches grew most " +
	"against the earlier weeks, ranked by the z-score of their log-odds ratio with an informative Dirichlet prior " +
	"from all weeks' counts (Monroe et al. 2008), so a word seen in one or two papers does not rank on chance."

// line is one series of the chart.
type line struct {
	name   string
	counts []int
}

// lines picks the series to draw: the MaxLines subscriptions with most papers in the span, in the channel's
// order, then the others summed.
func (r Result) lines() []line {
	all := make([]line, len(r.Subscriptions))
	for i, s := range r.Subscriptions {
		all[i] = line{name: s, counts: r.Counts[i]}
	}
	if len(all) <= MaxLines+1 {
		return all
	}
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	sum := func(c []int) (n int) {
		for _, v := range c {
			n += v
		}
		return n
	}
	slices.SortStableFunc(idx, func(a, b int) int { return sum(all[b].counts) - sum(all[a].counts) })
	keep := slices.Clone(idx[:MaxLines])
	slices.Sort(keep)
	var out []line
	for _, i := range keep {
		out = append(out, all[i])
	}
	other := line{name: fmt.Sprintf("%d other subscriptions", len(all)-MaxLines), counts: make([]int, len(r.Starts))}
	for _, i := range idx[MaxLines:] {
		for w, v := range all[i].counts {
			other.counts[w] += v
		}
	}
	return append(out, other)
}

// WeekLabel is how a week is named on the x axis: the date it starts, "Nov 24".
func (r Result) WeekLabel(w int) string { return r.Starts[w].UTC().Format("Jan 2") }

// Render draws r as a PNG of WidthPx by HeightPx: papers per week per subscription on the left, the legend and
// the rising terms on the right, the explanation under both. title heads it (e.g. "#ml-papers: papers per week").
func Render(r Result, title string) ([]byte, error) {
	w, h := vg.Length(WidthPx)*vg.Inch/dpi, vg.Length(HeightPx)*vg.Inch/dpi
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	hdlr := text.Plain{Fonts: font.DefaultCache}
	style := func(size vg.Length, c color.Color) draw.TextStyle {
		return draw.TextStyle{Color: c, Font: font.From(plot.DefaultFont, size), Handler: hdlr, XAlign: draw.XLeft, YAlign: draw.YTop}
	}
	margin := vg.Points(14)
	dark := color.Gray{0x22}

	// Title across the top.
	titleSty := style(26, dark)
	dc.FillText(titleSty, vg.Point{X: dc.Min.X + margin, Y: dc.Max.Y - margin}, ellipsize(title, titleSty, w-2*margin))

	// The explanation at the bottom, wrapped.
	noteSty := style(14, color.Gray{0x44})
	note := wrap(Explanation, noteSty, w-2*margin)
	noteH := vg.Length(len(note))*noteSty.Height("Mg")*1.15 + margin
	for i, l := range note {
		dc.FillText(noteSty, vg.Point{X: dc.Min.X + margin, Y: dc.Min.Y + noteH - vg.Length(i)*noteSty.Height("Mg")*1.15}, l)
	}

	top := dc.Max.Y - margin - titleSty.Height("Mg") - margin
	panelW := vg.Length(0.34) * w
	chart := draw.Crop(dc, 0, -panelW, noteH+margin, top-dc.Max.Y)
	panel := draw.Crop(dc, w-panelW, 0, noteH+margin, top-dc.Max.Y)

	lines := r.lines()
	if err := drawPlot(chart, r, lines, hdlr); err != nil {
		return nil, err
	}
	drawPanel(panel, r, lines, style, margin)

	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode chart: %w", err)
	}
	return buf.Bytes(), nil
}

func drawPlot(c draw.Canvas, r Result, lines []line, hdlr text.Handler) error {
	p := plot.New()
	p.TextHandler = hdlr
	p.BackgroundColor = color.White
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font.Size = 20
		ax.Tick.Label.Font.Size = 18
		ax.Width = vg.Points(1.5)
	}
	p.Y.Label.Text = "papers per week"
	p.X.Label.Text = "week starting (published date, UTC)"
	p.Y.Min = 0
	maxY := 1.0
	for _, l := range lines {
		for _, v := range l.counts {
			maxY = math.Max(maxY, float64(v))
		}
	}
	p.Y.Max = maxY * 1.08
	p.Y.Tick.Marker = intTicks{}
	// Label every week while they fit, else every second or fourth, always the last.
	step := max(1, (len(r.Starts)+7)/8)
	var ticks []plot.Tick
	for i := range r.Starts {
		label := ""
		if (len(r.Starts)-1-i)%step == 0 {
			label = r.WeekLabel(i)
		}
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.3, float64(len(r.Starts)-1)+0.3
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{0xe4}
	grid.Horizontal.Color = color.Gray{0xe4}
	p.Add(grid)
	colors, gl := okabeIto(), glyphs()
	for i, l := range lines {
		xys := make(plotter.XYs, len(l.counts))
		for w, v := range l.counts {
			xys[w] = plotter.XY{X: float64(w), Y: float64(v)}
		}
		ln, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("chart line %q: %w", l.name, err)
		}
		clr, g := seriesStyle(i, len(lines), l, colors, gl)
		ln.Color, ln.Width = clr, vg.Points(3)
		ln.Dashes = dashes(i)
		pts.Color, pts.Shape, pts.Radius = clr, g, vg.Points(5)
		p.Add(ln, pts)
	}
	p.Draw(c)
	return nil
}

// seriesStyle is series i's colour and glyph; an "others" line is grey.
func seriesStyle(i, n int, l line, colors []color.Color, gl []draw.GlyphDrawer) (color.Color, draw.GlyphDrawer) {
	if i == MaxLines && n == MaxLines+1 && strings.HasSuffix(l.name, " other subscriptions") {
		return otherColor, draw.BoxGlyph{}
	}
	return colors[i%len(colors)], gl[i%len(gl)]
}

// dashes alternates solid and dashed lines, so that two lines of similar colour differ in form too.
func dashes(i int) []vg.Length {
	if i%2 == 1 {
		return []vg.Length{vg.Points(9), vg.Points(4)}
	}
	return nil
}

func drawPanel(c draw.Canvas, r Result, lines []line, style func(vg.Length, color.Color) draw.TextStyle, margin vg.Length) {
	x := c.Min.X + margin
	y := c.Max.Y - margin/2
	width := c.Max.X - x - margin
	head := style(20, color.Gray{0x22})
	entry := style(18, color.Gray{0x22})
	colors, gl := okabeIto(), glyphs()
	lh := entry.Height("Mg") * 1.35
	icon := vg.Points(34)
	for i, l := range lines {
		clr, g := seriesStyle(i, len(lines), l, colors, gl)
		mid := y - lh/2 + vg.Points(2)
		c.StrokeLine2(draw.LineStyle{Color: clr, Width: vg.Points(3), Dashes: dashes(i)}, x, mid, x+icon, mid)
		c.DrawGlyphNoClip(draw.GlyphStyle{Color: clr, Radius: vg.Points(5), Shape: g}, vg.Point{X: x + icon/2, Y: mid})
		c.FillText(entry, vg.Point{X: x + icon + vg.Points(8), Y: y}, ellipsize(l.name, entry, width-icon-vg.Points(8)))
		y -= lh
	}
	y -= lh / 2
	c.FillText(head, vg.Point{X: x, Y: y}, "Rising in the last week")
	y -= head.Height("Mg") * 1.4
	if len(r.Rising) == 0 {
		none := "(too few papers to tell)"
		if r.Comparable() {
			none = "(no term rose markedly)"
		}
		c.FillText(entry, vg.Point{X: x, Y: y}, none)
		return
	}
	for i, t := range r.Rising {
		s := fmt.Sprintf("%d. %s  (%d, was %d)", i+1, t.Word, t.Recent, t.Earlier)
		c.FillText(entry, vg.Point{X: x, Y: y}, ellipsize(s, entry, width))
		y -= lh
	}
	small := style(13, color.Gray{0x55})
	c.FillText(small, vg.Point{X: x, Y: y}, "occurrences this week, was: in all earlier weeks")
}

// ellipsize shortens s with an ellipsis until it fits width.
func ellipsize(s string, sty draw.TextStyle, width vg.Length) string {
	if sty.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && sty.Width(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return strings.TrimSpace(string(r)) + "…"
}

// wrap breaks s into lines of at most width.
func wrap(s string, sty draw.TextStyle, width vg.Length) []string {
	var out []string
	cur := ""
	for _, word := range strings.Fields(s) {
		next := strings.TrimSpace(cur + " " + word)
		if cur != "" && sty.Width(next) > width {
			out = append(out, cur)
			next = word
		}
		cur = next
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// intTicks labels the y axis with whole numbers of papers: a fraction of a paper means nothing.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000} {
		step = s
		if span/s <= 6 {
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: fmt.Sprintf("%d", int(v))})
	}
	return out
}
