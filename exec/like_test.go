package exec

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// likeRef is LIKE by dynamic programming over runes: m[i][j] says whether
// the first i runes of s match the first j runes of p.
func likeRef(s, p string) bool {
	sr, pr := []rune(s), []rune(p)
	m := make([][]bool, len(sr)+1)
	for i := range m {
		m[i] = make([]bool, len(pr)+1)
	}
	m[0][0] = true
	for j := 1; j <= len(pr); j++ {
		m[0][j] = m[0][j-1] && pr[j-1] == '%'
	}
	for i := 1; i <= len(sr); i++ {
		for j := 1; j <= len(pr); j++ {
			switch pr[j-1] {
			case '%':
				m[i][j] = m[i][j-1] || m[i-1][j]
			case '_':
				m[i][j] = m[i-1][j-1]
			default:
				m[i][j] = m[i-1][j-1] && sr[i-1] == pr[j-1]
			}
		}
	}
	return m[len(sr)][len(pr)]
}

func TestLikeMatchesReference(t *testing.T) {
	cases := []struct {
		s, p string
		want bool
	}{
		{"", "", true}, {"", "%", true}, {"", "_", false}, {"a", "", false},
		{"abc", "a%", true}, {"abc", "%c", true}, {"abc", "%b%", true}, {"abc", "a_c", true},
		{"abc", "a_", false}, {"abc", "%%%", true}, {"héllo", "h_llo", true}, {"héllo", "h__llo", false},
		{"日本語", "_本%", true}, {"aaa", "%a%a%a%a", false}, {"mississippi", "%iss%ppi", true},
		{"ab", "%b%b", false}, {"abab", "%ab", true},
	}
	for _, c := range cases {
		if got := likeMatch(c.s, c.p); got != c.want || likeRef(c.s, c.p) != c.want {
			t.Errorf("%q LIKE %q = %v (reference %v), want %v", c.s, c.p, got, likeRef(c.s, c.p), c.want)
		}
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	alpha := []string{"a", "b", "é"}
	palpha := []string{"a", "b", "é", "%", "_"}
	draw := func(set []string, n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(set[rng.Intn(len(set))])
		}
		return b.String()
	}
	for i := 0; i < 20000; i++ {
		s, p := draw(alpha, rng.Intn(9)), draw(palpha, rng.Intn(7))
		if got, want := likeMatch(s, p), likeRef(s, p); got != want {
			t.Fatalf("%q LIKE %q = %v, want %v (seed %d)", s, p, got, want, seed)
		}
	}
}

// TestLikeNoBacktracking: a pattern of many % that fails at the end took
// exponential time (16 wildcards over 32 characters: about a minute).
func TestLikeNoBacktracking(t *testing.T) {
	s := strings.Repeat("a", 32)
	p := strings.Repeat("%a", 16) + "b"
	done := make(chan bool, 1)
	start := time.Now()
	go func() { done <- likeMatch(s, p) }()
	select {
	case got := <-done:
		if got {
			t.Fatalf("%q LIKE %q matched", s, p)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("%q LIKE %q still running after 2 s", s, p)
	}
	long := strings.Repeat("a", 1<<14)
	start = time.Now()
	if likeMatch(long, strings.Repeat("%a", 64)+"b") {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("16 Ki characters against 64 wildcards took %v", d)
	}
}
