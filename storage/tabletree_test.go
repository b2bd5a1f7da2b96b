package storage

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"testing"

	"github.com/softdb/softdb/types"
)

// TestTableTree applies random puts and deletes to the persistent tree and
// to a map, and checks after each that the tree matches the map, lists
// its tables in name order, keeps its expected shape, and that every
// older version still shows what it showed.
func TestTableTree(t *testing.T) {
	rng := rand.New(rand.NewSource(testSeed(t)))
	type version struct {
		tr tableTree
		m  map[string]*Table
	}
	var versions []version
	tr, m := tableTree{}, map[string]*Table{}
	check := func(v version) {
		t.Helper()
		if v.tr.n != len(v.m) {
			t.Fatalf("tree holds %d tables, want %d", v.tr.n, len(v.m))
		}
		keys := make([]string, 0, len(v.m))
		for k, want := range v.m {
			keys = append(keys, k)
			if got := v.tr.get(k); got != want {
				t.Fatalf("get(%q) = %p, want %p", k, got, want)
			}
		}
		sort.Strings(keys)
		list := v.tr.appendSorted(nil)
		for i, k := range keys {
			if list[i] != v.m[k] {
				t.Fatalf("table %d in order is %s, want %s", i, list[i].schema.Name, k)
			}
		}
		if v.tr.get("missing") != nil {
			t.Fatal("get of a missing name")
		}
		if err := heapOrdered(v.tr.root, "", "\xff"); err != nil {
			t.Fatal(err)
		}
	}
	for step := 0; step < 3000; step++ {
		k := fmt.Sprintf("t%03d", rng.Intn(300))
		if rng.Intn(3) == 0 {
			tr = tr.del(k)
			delete(m, k)
		} else {
			tb := &Table{schema: &Schema{Name: k}}
			tr = tr.put(k, tb)
			m[k] = tb
		}
		if step%50 == 0 {
			c := make(map[string]*Table, len(m))
			for k, v := range m {
				c[k] = v
			}
			versions = append(versions, version{tr, c})
		}
	}
	check(version{tr, m})
	for _, v := range versions {
		check(v)
	}
	if b := buildTree(m); b.n != len(m) {
		t.Fatalf("buildTree: %d tables, want %d", b.n, len(m))
	} else {
		check(version{b, m})
	}
}

// heapOrdered checks the treap's invariants below n: keys in (lo, hi),
// in order, and no child with a higher priority than its parent.
func heapOrdered(n *tableNode, lo, hi string) error {
	if n == nil {
		return nil
	}
	if n.key <= lo && lo != "" || n.key >= hi {
		return fmt.Errorf("key %q out of order", n.key)
	}
	for _, c := range []*tableNode{n.left, n.right} {
		if c != nil && c.prio > n.prio {
			return fmt.Errorf("child %q has a higher priority than %q", c.key, n.key)
		}
	}
	if err := heapOrdered(n.left, lo, n.key); err != nil {
		return err
	}
	return heapOrdered(n.right, n.key, hi)
}

// TestGroupCommit: writers on several goroutines commit one row each at a
// time (their log syncs may be shared); once Commit returns, the row is in
// every snapshot taken after, and snapshots never go back in time.
func TestGroupCommit(t *testing.T) {
	db := mustOpen(t, Options{Dir: t.TempDir()})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return tx.CreateTable(benchSchema(4)) })
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			last := int64(0)
			for i := 0; i < each; i++ {
				tx, err := db.Begin(context.Background())
				if err != nil {
					errs <- err
					return
				}
				id, err := tx.Insert("t", [][]types.Value{row(iv(int64(w*each+i)), vv(1, 2, 3, 4))})
				if err == nil {
					err = tx.Commit()
				} else {
					tx.Rollback()
				}
				if err != nil {
					errs <- err
					return
				}
				s := db.Snapshot()
				if int64(s.seq) < last {
					errs <- fmt.Errorf("snapshot went back from commit %d to %d", last, s.seq)
					return
				}
				last = int64(s.seq)
				tb := s.Table("t")
				if k, slot, ok := tb.locate(id); !ok || tb.segs[k].Value(0, slot).I != int64(w*each+i) {
					errs <- fmt.Errorf("rowid %d not visible after its commit returned", id)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := db.Snapshot().Table("t").LiveRows(); n != writers*each {
		t.Fatalf("%d rows, want %d", n, writers*each)
	}
}
