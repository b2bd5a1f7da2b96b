package query

import (
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The statement grammar is a choice of sixteen alternatives, and
// participle tries them in order: before it reaches SELECT it has built
// (by reflection), tried and thrown away a branch, a struct and an error
// for each of the five before it, several µs a statement — most of the
// cost of a short statement such as SELECT 1, which scripts and clients
// send by the thousand. Every choice is decided by its first token
// (UseLookahead(0)), so the first keyword names the only alternative that
// can match, and parsing that one alone builds the same tree. Only a
// success is taken: on a syntax error the whole grammar parses the
// statement again, so errors keep their wording (the alternatives it
// would have named as expected).

// directParsers parses the statements that start with a given keyword,
// upper-cased, on their own.
var directParsers = map[string]func(*lexer.PeekingLexer) (*statement, error){
	"SELECT": direct(participle.MustBuild[plainSelect](parserOptions...), func(s *statement, x *plainSelect) {
		s.Select = &selectStmt{Plain: x}
	}),
	"HARD": direct(participle.MustBuild[attnSelect](parserOptions...), func(s *statement, x *attnSelect) {
		s.Select = &selectStmt{Attn: x}
	}),
	"INSERT": direct(participle.MustBuild[insertStmt](parserOptions...), func(s *statement, x *insertStmt) { s.Insert = x }),
	"UPDATE": direct(participle.MustBuild[updateStmt](parserOptions...), func(s *statement, x *updateStmt) { s.Update = x }),
	"DELETE": direct(participle.MustBuild[deleteStmt](parserOptions...), func(s *statement, x *deleteStmt) { s.Delete = x }),
}

func init() { directParsers["SOFT"] = directParsers["HARD"] }

func direct[T any](p *participle.Parser[T], set func(*statement, *T)) func(*lexer.PeekingLexer) (*statement, error) {
	return func(pl *lexer.PeekingLexer) (*statement, error) {
		at := pl.Peek().Pos
		x, err := p.ParseFromLexer(pl)
		if err != nil {
			return nil, err
		}
		s := &statement{Pos: at}
		set(s, x)
		return s, nil
	}
}

// wholeGrammarOnly turns the direct parsers off, for the test that
// compares them with the whole grammar.
var wholeGrammarOnly bool

// parseTree parses the statement pl holds: by its first keyword's own
// alternative when it has one and that succeeds, else by the whole grammar.
func parseTree(pl *lexer.PeekingLexer) (*statement, error) {
	if t := pl.Peek(); t.Type == tokKeyword && !wholeGrammarOnly {
		if f := directParsers[strings.ToUpper(t.Value)]; f != nil {
			cp := pl.MakeCheckpoint()
			if s, err := f(pl); err == nil {
				return s, nil
			}
			pl.LoadCheckpoint(cp)
		}
	}
	return parser.ParseFromLexer(pl)
}
