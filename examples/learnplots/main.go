// Command learnplots runs the digits tutorial of docs/learning.md through
// softdb and draws its figures with gonum's plot package: the loss per
// iteration of TRAIN (64 → 4) and the test digits projected 64 → 2 before
// (PCA) and after TRAIN. It also writes the files the tutorial loads in
// the REPL: x.npy (pixels / 16), label.npy, pca4.npy and pca2.npy (the
// PCA start matrices).
//
//	go run ./examples/learnplots                      # figures into docs/img
//	go run ./examples/learnplots -files /tmp/digits   # and the tutorial's files
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"image/color"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/formats"
	"github.com/softdb/softdb/types"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

const train = 1200 // rows 1..1200 learn, 1201..1797 test

func main() {
	data := flag.String("data", "", "digits CSV (64 pixel columns and label); default: shared/data/digits.csv next to the repository, else attention/testdata/digits.csv")
	img := flag.String("img", "docs/img", "directory for the PNG figures")
	files := flag.String("files", "", "also write x.npy, label.npy, pca4.npy and pca2.npy here")
	iters := flag.Int("iterations", 19, "TRAIN iterations (scikit-learn's NeighborhoodComponentsAnalysis takes 19 on this split)")
	flag.Parse()
	if *data == "" {
		// attention/testdata keeps a copy, so a bare clone can run this.
		for _, p := range []string{"../shared/data/digits.csv", "../../shared/data/digits.csv", "attention/testdata/digits.csv"} {
			if _, err := os.Stat(p); err == nil {
				*data = p
				break
			}
		}
	}
	if err := run(context.Background(), *data, *img, *files, *iters); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, data, img, files string, iters int) error {
	x, labels, err := readDigits(data)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "learnplots")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if files == "" {
		files = dir
	}
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	n := len(labels)
	if err := writeNPY(filepath.Join(files, "x.npy"), x, 64); err != nil {
		return err
	}
	lv := make([]types.Value, n)
	for i, l := range labels {
		lv[i] = types.IntValue(int64(l))
	}
	if err := writeColumn(filepath.Join(files, "label.npy"), types.Type{Kind: types.Int}, lv); err != nil {
		return err
	}
	for _, k := range []int{4, 2} {
		if err := writeNPY(filepath.Join(files, fmt.Sprintf("pca%d.npy", k)), pca(x[:train*64], 64, k), k); err != nil {
			return err
		}
	}

	db, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, k := range []int{4, 2} {
		sql := fmt.Sprintf(`CREATE PROJECTION w%d (64 -> %d) FROM '%s';
			CREATE TABLE digits%d (x VECTOR(64), label INT, k VECTOR(%d) GENERATED ALWAYS AS (project(x, w%d)) STORED);
			COPY digits%d (x, label) FROM '%s', '%s'`,
			k, k, filepath.Join(files, fmt.Sprintf("pca%d.npy", k)), k, k, k, k, filepath.Join(files, "x.npy"), filepath.Join(files, "label.npy"))
		if _, err := db.Exec(ctx, sql); err != nil {
			return err
		}
	}
	before, err := accuracy(ctx, db, "digits4")
	if err != nil {
		return err
	}
	before2, err := accuracy(ctx, db, "digits2")
	if err != nil {
		return err
	}
	pts2, err := points(ctx, db, "digits2")
	if err != nil {
		return err
	}
	start := time.Now()
	losses, err := trainLosses(ctx, db, fmt.Sprintf("EXPLAIN ANALYZE TRAIN PROJECTION w4 ON digits4 (x) LABEL label USING L2 TEMPERATURE 1 ITERATIONS %d WHERE rowid <= %d", iters, train))
	if err != nil {
		return err
	}
	took := time.Since(start)
	after, err := accuracy(ctx, db, "digits4")
	if err != nil {
		return err
	}
	if _, err := trainLosses(ctx, db, fmt.Sprintf("EXPLAIN ANALYZE TRAIN PROJECTION w2 ON digits2 (x) LABEL label USING L2 TEMPERATURE 1 ITERATIONS %d WHERE rowid <= %d", iters, train)); err != nil {
		return err
	}
	after2, err := accuracy(ctx, db, "digits2")
	if err != nil {
		return err
	}
	pts2after, err := points(ctx, db, "digits2")
	if err != nil {
		return err
	}
	fmt.Printf("64 -> 4: test 1-NN accuracy %.4f from the PCA start, %.4f after TRAIN (%d iterations, %.2f s)\n", before, after, len(losses)-1, took.Seconds())
	fmt.Printf("64 -> 2: test 1-NN accuracy %.4f from the PCA start, %.4f after TRAIN\n", before2, after2)

	if err := os.MkdirAll(img, 0o755); err != nil {
		return err
	}
	if err := lossPlot(filepath.Join(img, "learn_loss.png"), losses); err != nil {
		return err
	}
	if err := scatter(filepath.Join(img, "learn_pca2.png"), fmt.Sprintf("PCA start, 64 → 2 (test 1-NN accuracy %.3f)", before2), pts2); err != nil {
		return err
	}
	return scatter(filepath.Join(img, "learn_trained2.png"), fmt.Sprintf("after TRAIN, 64 → 2 (test 1-NN accuracy %.3f)", after2), pts2after)
}

// readDigits reads the CSV: 64 pixels / 16 per row, and the label.
func readDigits(path string) ([]float32, []int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	var x []float32
	var labels []int64
	for _, r := range recs[1:] {
		if len(r) != 65 {
			return nil, nil, fmt.Errorf("%s: %d columns, want 65", path, len(r))
		}
		for _, v := range r[:64] {
			p, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, nil, err
			}
			x = append(x, float32(p/16))
		}
		l, err := strconv.ParseInt(r[64], 10, 64)
		if err != nil {
			return nil, nil, err
		}
		labels = append(labels, l)
	}
	return x, labels, nil
}

// pca returns the top k principal axes of the rows of x (d columns) as
// the columns of a d × k row-major matrix: eigenvectors of the covariance.
func pca(x []float32, d, k int) []float32 {
	n := len(x) / d
	mean := make([]float64, d)
	for i := range n {
		for c := range d {
			mean[c] += float64(x[i*d+c]) / float64(n)
		}
	}
	cov := mat.NewSymDense(d, nil)
	for a := range d {
		for b := a; b < d; b++ {
			var s float64
			for i := range n {
				s += (float64(x[i*d+a]) - mean[a]) * (float64(x[i*d+b]) - mean[b])
			}
			cov.SetSym(a, b, s/float64(n-1))
		}
	}
	var eig mat.EigenSym
	eig.Factorize(cov, true)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	w := make([]float32, d*k)
	for j := range k { // eigenvalues come in ascending order
		col := d - 1 - j
		for r := range d {
			w[r*k+j] = float32(vecs.At(r, col))
		}
	}
	return w
}

// accuracy is the test 1-NN accuracy of table t's k column.
func accuracy(ctx context.Context, db *softdb.DB, t string) (float64, error) {
	truth := map[int64]int64{}
	rows, err := db.Query(ctx, fmt.Sprintf("SELECT rowid, label FROM %s WHERE rowid > %d", t, train))
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id, l int64
		if err := rows.Scan(&id, &l); err != nil {
			return 0, err
		}
		truth[id] = l
	}
	rows, err = db.Query(ctx, fmt.Sprintf("HARD SELECT qrow, label FROM %s MATCH (SELECT k FROM %s WHERE rowid > %d) ON k USING L2 WHERE rowid <= %d LIMIT 1", t, t, train, train))
	if err != nil {
		return 0, err
	}
	right, n := 0, 0
	for rows.Next() {
		var q, l int64
		if err := rows.Scan(&q, &l); err != nil {
			return 0, err
		}
		n++
		if truth[q] == l {
			right++
		}
	}
	return float64(right) / float64(n), rows.Err()
}

// points returns the test rows' k (2-d) by label.
func points(ctx context.Context, db *softdb.DB, t string) (map[int64]plotter.XYs, error) {
	rows, err := db.Query(ctx, fmt.Sprintf("SELECT label, k FROM %s WHERE rowid > %d", t, train))
	if err != nil {
		return nil, err
	}
	out := map[int64]plotter.XYs{}
	for rows.Next() {
		var l int64
		var k []float32
		if err := rows.Scan(&l, &k); err != nil {
			return nil, err
		}
		out[l] = append(out[l], plotter.XY{X: float64(k[0]), Y: float64(k[1])})
	}
	return out, rows.Err()
}

// trainLosses runs an EXPLAIN ANALYZE TRAIN and returns its losses.
func trainLosses(ctx context.Context, db *softdb.DB, sql string) ([]float64, error) {
	rows, err := db.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	var out []float64
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		var it int
		var l float64
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "iteration %d: loss %g", &it, &l); err == nil {
			out = append(out, l)
		}
	}
	return out, rows.Err()
}

func lossPlot(path string, losses []float64) error {
	p := plot.New()
	p.Title.Text = "TRAIN PROJECTION w (64 → 4) on 1200 digits: loss per L-BFGS iteration"
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = "NCA log loss (sum over rows)"
	pts := make(plotter.XYs, len(losses))
	for i, l := range losses {
		pts[i] = plotter.XY{X: float64(i), Y: l}
	}
	line, dots, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	p.Add(line, dots, plotter.NewGrid())
	return p.Save(7*vg.Inch, 4*vg.Inch, path)
}

func scatter(path, title string, pts map[int64]plotter.XYs) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "k[1]"
	p.Y.Label.Text = "k[2]"
	p.Legend.Top = true
	for l := int64(0); l < 10; l++ {
		s, err := plotter.NewScatter(pts[l])
		if err != nil {
			return err
		}
		s.GlyphStyle.Color = palette[l]
		s.GlyphStyle.Radius = vg.Points(2)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(strconv.FormatInt(l, 10), s)
	}
	return p.Save(6*vg.Inch, 6*vg.Inch, path)
}

// palette: ten distinguishable colours (Tableau 10).
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
	color.RGBA{23, 190, 207, 255},
}

// writeNPY writes m (rows of cols float32) as a float32 npy matrix,
// through COPY's npy writer.
func writeNPY(path string, m []float32, cols int) error {
	rows := make([]types.Value, len(m)/cols)
	for i := range rows {
		rows[i] = types.VectorValue(m[i*cols : (i+1)*cols])
	}
	return writeColumn(path, types.Type{Kind: types.Vector, Dim: cols}, rows)
}

// writeColumn writes one column of values as an npy file.
func writeColumn(path string, t types.Type, vals []types.Value) error {
	w, err := formats.CreateWriter(path, []formats.Column{{Name: "c", Type: t}}, formats.Options{Format: formats.NPY})
	if err != nil {
		return err
	}
	for _, v := range vals {
		if err := w.Write([]types.Value{v}); err != nil {
			_ = w.Abort()
			return err
		}
	}
	return w.Close()
}
