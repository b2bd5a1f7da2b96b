package server

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/softdb/softdb/query"
)

// ServerVersion is the PostgreSQL version the server reports: the
// protocol and the behaviour clients may expect are those of 15.
const ServerVersion = "15.0"

// setting is a session parameter clients set and read: softdb has no
// dates, encodings other than UTF-8 or schemas, so most are recorded and
// reported back only.
type setting struct {
	name   string // as PostgreSQL spells it
	def    string
	report bool                  // sent as ParameterStatus (GUC_REPORT)
	check  func(v string) string // "" or why v is refused
	// strict: a bad value at startup refuses the connection (others are
	// ignored there, as settings softdb only records).
	strict bool
}

var settings = map[string]*setting{}

func init() {
	utf8Only := func(v string) string {
		switch strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(v, "-", ""), "_", "")) {
		case "UTF8", "UNICODE", "SQLASCII":
			return ""
		}
		return fmt.Sprintf("client_encoding %s is not supported: softdb speaks UTF8 only", v)
	}
	on := func(v string) string {
		if b, ok := parseBool(v); !ok || !b {
			return "only on is supported"
		}
		return ""
	}
	for _, s := range []*setting{
		{name: "server_version", def: ServerVersion, report: true, check: func(string) string { return "server_version is read-only" }},
		{name: "server_encoding", def: "UTF8", report: true, check: func(string) string { return "server_encoding is read-only" }},
		{name: "client_encoding", def: "UTF8", report: true, check: utf8Only},
		{name: "DateStyle", def: "ISO, MDY", report: true},
		{name: "integer_datetimes", def: "on", report: true, check: func(string) string { return "integer_datetimes is read-only" }},
		{name: "IntervalStyle", def: "postgres", report: true},
		{name: "TimeZone", def: "UTC", report: true},
		{name: "standard_conforming_strings", def: "on", report: true, check: on},
		{name: "application_name", def: "", report: true},
		{name: "is_superuser", def: "off", report: true, check: func(string) string { return "is_superuser is read-only" }},
		{name: "session_authorization", def: "", report: true},
		{name: "default_transaction_read_only", def: "off", report: true},
		{name: "in_hot_standby", def: "off", report: true, check: func(string) string { return "in_hot_standby is read-only" }},
		{name: "extra_float_digits", def: "1"},
		{name: "search_path", def: `"$user", public`},
		{name: "statement_timeout", def: "0", strict: true, check: func(v string) string {
			_, why := parseTimeout(v)
			return why
		}},
		{name: "lock_timeout", def: "0"},
		{name: "idle_in_transaction_session_timeout", def: "0"},
		{name: "default_transaction_isolation", def: "serializable"},
		{name: "transaction_isolation", def: "serializable"},
		{name: "bytea_output", def: "hex"},
		{name: "client_min_messages", def: "notice"},
		{name: "datestyle", def: "ISO, MDY"},
		{name: "timezone", def: "UTC"},
		{name: "max_identifier_length", def: "63"},
		{name: "row_security", def: "on"},
		{name: "synchronous_commit", def: "on"},
		{name: "jit", def: "off"},
		{name: "geqo", def: "on"},
		{name: "intervalstyle", def: "postgres"},
	} {
		if _, dup := settings[strings.ToLower(s.name)]; !dup {
			settings[strings.ToLower(s.name)] = s
		}
	}
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.Trim(v, "'")) {
	case "on", "true", "yes", "1", "t":
		return true, true
	case "off", "false", "no", "0", "f":
		return false, true
	}
	return false, false
}

// session holds a connection's settings.
type session struct {
	values map[string]string // by lower-case name
	// statementTimeout is statement_timeout's value, read once.
	statementTimeout time.Duration
}

// newSession makes the settings of a new connection: the defaults, then
// the startup packet's parameters, then those of its options parameter
// (PGOPTIONS: -c name=value, --name=value).
func newSession(startup map[string]string) (*session, error) {
	s := &session{values: map[string]string{}}
	for k, st := range settings {
		s.values[k] = st.def
	}
	s.values["session_authorization"] = startup["user"]
	params := map[string]string{}
	for k, v := range startup {
		params[strings.ToLower(k)] = v
	}
	opts, err := parseOptions(startup["options"])
	if err != nil {
		return nil, err
	}
	for k, v := range opts {
		params[k] = v
	}
	for k, v := range params {
		st, ok := settings[k]
		if !ok || k == "client_encoding" {
			continue
		}
		if st.check != nil {
			if why := st.check(v); why != "" {
				if st.strict {
					return nil, &pgError{code: "22023", msg: fmt.Sprintf("invalid value for parameter %q: %q: %s", st.name, v, why)}
				}
				continue
			}
		}
		s.set(k, v)
	}
	return s, nil
}

// clone is a copy of s that can be changed on its own.
func (s *session) clone() *session {
	c := *s
	c.values = maps.Clone(s.values)
	return &c
}

// set sets the setting key (lower case) to v, which its check accepted.
func (s *session) set(key, v string) {
	s.values[key] = v
	if key == "statement_timeout" {
		s.statementTimeout, _ = parseTimeout(v)
	}
}

// parseOptions reads the options startup parameter as PostgreSQL does
// (pg_split_opts): words split at spaces, a backslash keeps the next
// character; -c name=value, -cname=value and --name=value set name.
// Other options are refused, as a PostgreSQL server refuses what it does
// not know.
func parseOptions(opts string) (map[string]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(opts); i++ {
		ch := opts[i]
		switch {
		case ch == '\\' && i+1 < len(opts):
			i++
			w.WriteByte(opts[i])
			inWord = true
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	out := map[string]string{}
	for i := 0; i < len(words); i++ {
		var kv string
		switch word := words[i]; {
		case word == "-c" && i+1 < len(words):
			i++
			kv = words[i]
		case strings.HasPrefix(word, "-c") && len(word) > 2:
			kv = word[2:]
		case strings.HasPrefix(word, "--") && len(word) > 2:
			kv = word[2:]
		default:
			return nil, &pgError{code: "42601", severity: "FATAL", msg: fmt.Sprintf("invalid command-line argument in the options startup parameter: %q (only -c name=value and --name=value are accepted)", word)}
		}
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, &pgError{code: "42601", severity: "FATAL", msg: fmt.Sprintf("-c %s requires a value (-c name=value)", kv)}
		}
		out[strings.ToLower(strings.ReplaceAll(name, "-", "_"))] = val
	}
	return out, nil
}

// parseTimeout reads a time setting as PostgreSQL does: a number of
// milliseconds, or a number with a unit (us, ms, s, min, h, d); 0 turns
// the timeout off. The second result is "" or why v is refused.
func parseTimeout(v string) (time.Duration, string) {
	t := strings.TrimSpace(v)
	end := 0
	for end < len(t) && (t[end] >= '0' && t[end] <= '9' || t[end] == '.') {
		end++
	}
	f, err := strconv.ParseFloat(t[:end], 64)
	if err != nil {
		return 0, "a time is a number of milliseconds, or a number with a unit: us, ms, s, min, h, d"
	}
	unit := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := unit[strings.TrimSpace(t[end:])]
	if !ok {
		return 0, fmt.Sprintf("invalid unit %q: valid units are us, ms, s, min, h and d", strings.TrimSpace(t[end:]))
	}
	d := f * float64(u)
	if d > float64(math.MaxInt32)*float64(time.Millisecond) {
		return 0, "the largest time is 2147483647 ms"
	}
	return time.Duration(d), ""
}

func (s *session) startupStatus() []*pgproto3.ParameterStatus {
	var names []string
	for k, st := range settings {
		if st.report && k == strings.ToLower(st.name) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := make([]*pgproto3.ParameterStatus, len(names))
	for i, k := range names {
		out[i] = &pgproto3.ParameterStatus{Name: settings[k].name, Value: s.values[k]}
	}
	return out
}

// special is a statement the server answers itself: what drivers send
// that softdb's language does not have (SET and SHOW of session
// parameters, version(), transaction statement variants), and
// statements that reach for PostgreSQL's catalogs.
type special struct {
	tag    string              // command tag, "" for a query
	cols   []string            // result columns (text), for a query
	rows   [][]any             // the result
	stmt   query.Statement     // run by the engine instead (BEGIN …)
	err    error               // the statement's error
	set    func(c *conn)       // applies a SET or RESET
	do     func(c *conn) error // runs a statement on the session's state
	copyIO *copyCommand        // COPY … FROM STDIN / TO STDOUT
}

var (
	reBegin    = regexp.MustCompile(`(?is)^(begin|start\s+transaction)(\s+(transaction|work))?(\s+(isolation\s+level\s+(serializable|repeatable\s+read|read\s+committed|read\s+uncommitted)|read\s+write|read\s+only|(not\s+)?deferrable)\s*,?)*$`)
	reCommit   = regexp.MustCompile(`(?is)^(commit|end)(\s+(transaction|work))?$`)
	reRollback = regexp.MustCompile(`(?is)^(rollback|abort)(\s+(transaction|work))?$`)
	reSet      = regexp.MustCompile(`(?is)^set\s+(session\s+|local\s+)?([a-z_][a-z0-9_.]*)\s*(=|\s+to\s+|\s)\s*(.*)$`)
	reSetTZ    = regexp.MustCompile(`(?is)^set\s+(session\s+|local\s+)?time\s+zone\s+(.*)$`)
	reSetNames = regexp.MustCompile(`(?is)^set\s+names\s+(.*)$`)
	reSetTx    = regexp.MustCompile(`(?is)^set\s+(session\s+characteristics\s+as\s+)?transaction\s`)
	reShow     = regexp.MustCompile(`(?is)^show\s+([a-z_][a-z0-9_.]*)$`)
	reReset    = regexp.MustCompile(`(?is)^reset\s+([a-z_][a-z0-9_.]*)$`)
	reNoop     = regexp.MustCompile(`(?is)^(discard\s+(temp|temporary|sequences)|unlisten\s+\*)$`)
	reDiscard  = regexp.MustCompile(`(?is)^discard\s+(all|plans)$`)
	reDealloc  = regexp.MustCompile(`(?is)^deallocate\s+(prepare\s+)?("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)$`)
	reSavept   = regexp.MustCompile(`(?is)^(savepoint\s|release\s|rollback(\s+(transaction|work))?\s+to\s)`)
	reClose    = regexp.MustCompile(`(?is)^close\s+(all|"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)$`)
	reCursor   = regexp.MustCompile(`(?is)^(declare\s+\S+\s+.*\bcursor\b|fetch\b|move\b|close\s)`)
	reFunc     = regexp.MustCompile(`(?is)^select\s+(pg_catalog\.)?(version|current_schema|current_database|current_user|session_user|user|pg_backend_pid|current_setting)\s*(\(\s*('([^']*)')?\s*\))?(\s+as\s+("?)([a-z_][a-z0-9_]*)("?))?$`)
	reCatalog  = regexp.MustCompile(`(?i)\b(pg_catalog\s*\.|information_schema\s*\.|pg_(class|namespace|attribute|type|database|roles|settings|proc|tables|indexes|user|index|constraint|am|extension|description|inherits|stat\w*|tablespace)\b)`)
	reCopyIO   = regexp.MustCompile(`(?is)^copy\s.*\b(stdin|stdout)\b`)
)

// classify returns how the server answers text itself, or nil when it
// goes to the engine.
func (c *conn) classify(text string) *special {
	t := trimStatement(text)
	if !mayBeSpecial(t) {
		return nil
	}
	switch {
	case reBegin.MatchString(t):
		return &special{stmt: &query.Begin{}, tag: "BEGIN"}
	case reCommit.MatchString(t):
		return &special{stmt: &query.Commit{}, tag: "COMMIT"}
	case reRollback.MatchString(t):
		return &special{stmt: &query.Rollback{}, tag: "ROLLBACK"}
	case reSetTx.MatchString(t):
		return &special{tag: "SET"} // softdb transactions are serializable: one writer at a time
	case reSetTZ.MatchString(t):
		return c.setSpecial("TimeZone", reSetTZ.FindStringSubmatch(t)[2])
	case reSetNames.MatchString(t):
		return c.setSpecial("client_encoding", reSetNames.FindStringSubmatch(t)[1])
	case reSet.MatchString(t):
		m := reSet.FindStringSubmatch(t)
		if strings.EqualFold(m[2], "max_statement_memory") {
			return nil // softdb's own setting
		}
		return c.setSpecial(m[2], m[4])
	case reReset.MatchString(t):
		name := strings.ToLower(reReset.FindStringSubmatch(t)[1])
		return &special{tag: "RESET", set: func(c *conn) {
			if name == "all" {
				c.resetAll()
				return
			}
			c.reset(name)
		}}
	case reShow.MatchString(t):
		name := strings.ToLower(reShow.FindStringSubmatch(t)[1])
		switch name {
		case "tables", "indexes", "projections", "max_statement_memory", "index_scan":
			return nil // softdb's own SHOW
		case "all":
			var names []string
			for k := range settings {
				names = append(names, k)
			}
			sort.Strings(names)
			sp := &special{cols: []string{"name", "setting"}}
			for _, k := range names {
				sp.rows = append(sp.rows, []any{k, c.sess.values[k]})
			}
			return sp
		}
		v, ok := c.sess.values[name]
		if !ok {
			return &special{err: &pgError{code: "42704", msg: fmt.Sprintf("unrecognized configuration parameter %q", name)}}
		}
		col := name
		if st := settings[name]; st != nil {
			col = st.name
		}
		return &special{cols: []string{col}, rows: [][]any{{v}}}
	case reSavept.MatchString(t):
		what := strings.ToUpper(strings.Fields(t)[0])
		if what == "ROLLBACK" {
			what = "ROLLBACK TO SAVEPOINT"
		}
		return &special{do: func(c *conn) error { return c.refuseInBlock(what) }}
	case reCursor.MatchString(t):
		if m := reClose.FindStringSubmatch(t); m != nil {
			// No cursor can exist, so CLOSE ALL has nothing to do.
			if strings.EqualFold(m[1], "all") {
				return &special{tag: "CLOSE CURSOR ALL"}
			}
			return &special{err: &pgError{code: "34000", msg: fmt.Sprintf("cursor %q does not exist", unquoteIdent(m[1]))}}
		}
		return &special{err: &pgError{code: "0A000", msg: "cursors (DECLARE, FETCH, MOVE) are not supported",
			hint: "Read a large result in parts with the extended protocol (Execute with a row limit), or with LIMIT and OFFSET; in psql, unset FETCH_COUNT."}}
	case reDiscard.MatchString(t):
		all := strings.EqualFold(reDiscard.FindStringSubmatch(t)[1], "all")
		return &special{tag: "DISCARD " + strings.ToUpper(reDiscard.FindStringSubmatch(t)[1]), do: func(c *conn) error {
			if all && c.inBlock() {
				return &pgError{code: "25001", msg: "DISCARD ALL cannot run inside a transaction block"}
			}
			clear(c.parsed)
			if all {
				clear(c.stmts)
				clear(c.portals)
				c.resetAll()
			}
			return nil
		}}
	case reDealloc.MatchString(t):
		name := reDealloc.FindStringSubmatch(t)[2]
		if strings.EqualFold(name, "all") {
			return &special{tag: "DEALLOCATE ALL", do: func(c *conn) error { clear(c.stmts); return nil }}
		}
		name = unquoteIdent(name)
		if name == reDealloc.FindStringSubmatch(t)[2] {
			name = strings.ToLower(name) // an unquoted name folds to lower case
		}
		return &special{tag: "DEALLOCATE", do: func(c *conn) error {
			if _, ok := c.stmts[name]; !ok || name == "" {
				return &pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", name)}
			}
			delete(c.stmts, name)
			return nil
		}}
	case reNoop.MatchString(t):
		return &special{tag: strings.ToUpper(strings.Fields(t)[0])}
	case reFunc.MatchString(t):
		m := reFunc.FindStringSubmatch(t)
		fn := strings.ToLower(m[2])
		col := fn
		if m[8] != "" {
			col = m[8]
		}
		var v any
		switch fn {
		case "version":
			v = "PostgreSQL " + ServerVersion + " (softdb, the attention database; PostgreSQL wire protocol 3.0)"
		case "current_schema":
			v = "public"
		case "current_database":
			v = "softdb"
		case "current_user", "session_user", "user":
			v = c.user
		case "pg_backend_pid":
			v = int64(c.pid)
		case "current_setting":
			val, ok := c.sess.values[strings.ToLower(m[5])]
			if !ok {
				return &special{err: &pgError{code: "42704", msg: fmt.Sprintf("unrecognized configuration parameter %q", m[5])}}
			}
			v = val
		}
		if m[3] == "" && fn != "current_user" && fn != "session_user" && fn != "user" {
			return nil
		}
		return &special{cols: []string{col}, rows: [][]any{{v}}}
	case reCopyIO.MatchString(t):
		cmd, err := parseCopyIO(t)
		if err != nil {
			return &special{err: err}
		}
		return &special{copyIO: cmd}
	case reCatalog.MatchString(t):
		return &special{err: &pgError{code: "0A000",
			msg:  "softdb has no PostgreSQL system catalogs (pg_catalog, information_schema), so psql's \\d commands do not work",
			hint: "List the tables with SHOW TABLES; and a table's columns with DESCRIBE t;"}}
	}
	return nil
}

// specialWords are the first words of the statements classify answers;
// catalogWords mark a query of PostgreSQL's catalogs.
var specialWords = map[string]bool{"begin": true, "start": true, "commit": true, "end": true, "rollback": true, "abort": true,
	"set": true, "show": true, "reset": true, "discard": true, "unlisten": true, "deallocate": true, "copy": true,
	"savepoint": true, "release": true, "declare": true, "fetch": true, "move": true, "close": true}

// mayBeSpecial is a cheap test that spares the common statements the
// regular expressions of classify.
func mayBeSpecial(t string) bool {
	end := strings.IndexAny(t, " \t\r\n(")
	if end < 0 {
		end = len(t)
	}
	if end > 12 {
		return false
	}
	word := strings.ToLower(t[:end])
	if specialWords[word] {
		return true
	}
	if word != "select" || len(t) > 1<<16 {
		return false
	}
	lower := strings.ToLower(t)
	for _, w := range []string{"pg_", "information_schema", "current_", "version", "user"} {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// resetAll returns every setting to its value at the start of the
// session (RESET ALL, DISCARD ALL), reporting those that change.
func (c *conn) resetAll() {
	for key := range settings {
		c.reset(key)
	}
}

// reset is RESET name: the value the session started with (its startup
// packet's, else the default), reported to the client if it changes and
// is a reported setting.
func (c *conn) reset(key string) {
	st, ok := settings[key]
	if !ok {
		return
	}
	v := c.startSess.values[key]
	if st.report && c.sess.values[key] != v {
		c.be.Send(&pgproto3.ParameterStatus{Name: st.name, Value: v})
	}
	c.sess.set(key, v)
}

// setSpecial is SET name = value of a session parameter.
func (c *conn) setSpecial(name, value string) *special {
	key := strings.ToLower(name)
	st, ok := settings[key]
	if !ok {
		return &special{err: &pgError{code: "42704", msg: fmt.Sprintf("unrecognized configuration parameter %q (softdb's own setting is max_statement_memory)", name)}}
	}
	v := unquoteSetting(value)
	if strings.EqualFold(v, "default") {
		v = st.def
	}
	if st.check != nil {
		if why := st.check(v); why != "" {
			return &special{err: &pgError{code: "22023", msg: fmt.Sprintf("invalid value for parameter %q: %q: %s", st.name, v, why)}}
		}
	}
	if key == "client_encoding" {
		v = "UTF8"
	}
	return &special{tag: "SET", set: func(c *conn) {
		c.sess.set(key, v)
		if st.report {
			c.be.Send(&pgproto3.ParameterStatus{Name: st.name, Value: v})
		}
	}}
}

// unquoteSetting reads a SET value: 'quoted', "quoted", or a list of
// words and numbers.
func unquoteSetting(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v
	}
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `'"`)
	}
	return strings.Join(parts, ", ")
}
