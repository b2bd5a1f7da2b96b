package storage

import (
	"hash/maphash"
	"sort"
)

// tableTree is a persistent map from lower-case table name to *Table: a
// treap ordered by name, whose nodes are never modified once built. A
// change copies the O(log n) nodes on the path to the name and shares the
// rest, so a commit that touches one table costs O(log n) in the number
// of tables, and every Snapshot keeps its own root for free.
//
// Priorities are a hash of the name, so the shape depends only on the set
// of names: the expected depth is O(log n) whatever the order of changes.
type tableTree struct {
	root *tableNode
	n    int
}

type tableNode struct {
	key         string // lower-case name
	t           *Table
	prio        uint64
	left, right *tableNode
}

var treeSeed = maphash.MakeSeed()

func namePrio(key string) uint64 { return maphash.String(treeSeed, key) }

// get returns the table stored under key, or nil.
func (tr tableTree) get(key string) *Table {
	n := tr.root
	for n != nil {
		switch {
		case key < n.key:
			n = n.left
		case key > n.key:
			n = n.right
		default:
			return n.t
		}
	}
	return nil
}

// put returns the tree with key mapped to t.
func (tr tableTree) put(key string, t *Table) tableTree {
	root, added := nodePut(tr.root, key, t, namePrio(key))
	if added {
		tr.n++
	}
	tr.root = root
	return tr
}

func nodePut(n *tableNode, key string, t *Table, prio uint64) (*tableNode, bool) {
	if n == nil {
		return &tableNode{key: key, t: t, prio: prio}, true
	}
	c := *n
	var added bool
	switch {
	case key < n.key:
		c.left, added = nodePut(n.left, key, t, prio)
		if c.left.prio > c.prio { // rotate right
			l := *c.left
			c.left, l.right = l.right, &c
			return &l, added
		}
	case key > n.key:
		c.right, added = nodePut(n.right, key, t, prio)
		if c.right.prio > c.prio { // rotate left
			r := *c.right
			c.right, r.left = r.left, &c
			return &r, added
		}
	default:
		c.t = t
	}
	return &c, added
}

// del returns the tree without key.
func (tr tableTree) del(key string) tableTree {
	root, removed := nodeDel(tr.root, key)
	if removed {
		tr.n--
	}
	tr.root = root
	return tr
}

func nodeDel(n *tableNode, key string) (*tableNode, bool) {
	if n == nil {
		return nil, false
	}
	var removed bool
	c := *n
	switch {
	case key < n.key:
		if c.left, removed = nodeDel(n.left, key); !removed {
			return n, false
		}
	case key > n.key:
		if c.right, removed = nodeDel(n.right, key); !removed {
			return n, false
		}
	default:
		return nodeMerge(n.left, n.right), true
	}
	return &c, true
}

// nodeMerge joins two trees whose keys are all a's < all b's.
func nodeMerge(a, b *tableNode) *tableNode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		c := *a
		c.right = nodeMerge(a.right, b)
		return &c
	default:
		c := *b
		c.left = nodeMerge(a, b.left)
		return &c
	}
}

// appendSorted appends the tables in name order to dst.
func (tr tableTree) appendSorted(dst []*Table) []*Table {
	var walk func(n *tableNode)
	walk = func(n *tableNode) {
		for n != nil {
			walk(n.left)
			dst = append(dst, n.t)
			n = n.right
		}
	}
	walk(tr.root)
	return dst
}

// buildTree builds the tree of a map in O(n log n) for the sort and O(n)
// for the tree: the nodes in name order form a Cartesian tree on their
// priorities, built with a stack of the rightmost path.
func buildTree(tables map[string]*Table) tableTree {
	keys := make([]string, 0, len(tables))
	for k := range tables {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var stack []*tableNode
	for _, k := range keys {
		n := &tableNode{key: k, t: tables[k], prio: namePrio(k)}
		var last *tableNode
		for len(stack) > 0 && stack[len(stack)-1].prio < n.prio {
			last = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		}
		n.left = last
		if len(stack) > 0 {
			stack[len(stack)-1].right = n
		}
		stack = append(stack, n)
	}
	tr := tableTree{n: len(keys)}
	if len(stack) > 0 {
		tr.root = stack[0]
	}
	return tr
}
