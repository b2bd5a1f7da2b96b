// Package driver registers softdb with database/sql under the name
// "softdb":
//
//	import (
//		"database/sql"
//
//		_ "github.com/softdb/softdb/driver"
//	)
//
//	db, err := sql.Open("softdb", "/path/to/dir") // or ":memory:"
//
// The data source name is a database directory, created if missing, or
// ":memory:". Placeholders are ? and $n; named parameters are not
// supported. A []float32 (or Vector, or []float64) is a VECTOR argument,
// and a VECTOR column scans into *[]float32, *Vector or *any, each row
// into a new slice that the caller owns.
//
// # Sharing
//
// softdb locks a directory for one engine at a time, so every sql.DB of
// one directory in a process shares one *softdb.DB: the first sql.Open
// of a directory opens it, and it is closed when the last of those sql.DB
// is closed. Directories are compared after making them absolute and
// resolving symbolic links. Another process opening the same directory
// gets an error matching softdb.ErrLocked.
//
// Each sql.Open(":memory:") is its own, separate database, shared by the
// connections of that sql.DB (the pool) and dropped when it is closed.
// To share an in-memory database, or to set softdb.Options, open the
// database with softdb.Open and use sql.OpenDB(driver.NewConnector(db)).
//
// # Transactions
//
// sql.DB.BeginTx starts a softdb write transaction; with
// sql.TxOptions{ReadOnly: true}, a read-only one that reads one snapshot.
// Transactions are serializable, and sql.LevelDefault and
// sql.LevelSerializable are the isolation levels accepted. One write
// transaction runs at a time: a write outside it (DB.Exec) waits until it
// ends, as long as its context allows.
//
// Cancelling a query's context stops a running scan promptly and the call
// returns an error matching context.Canceled. Errors keep softdb's classes:
// errors.Is(err, softdb.ErrNotFound) and the like work through
// database/sql.
package driver

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/softdb/softdb"
)

// Name is the name the driver is registered under.
const Name = "softdb"

func init() {
	sql.Register(Name, Driver{})
}

// Driver is the database/sql driver. It is registered as "softdb"; use it
// directly only to build a Connector yourself.
type Driver struct{}

// Open opens a connection with its own reference to the shared database
// of name, released when the connection closes. database/sql calls
// OpenConnector instead.
func (Driver) Open(name string) (sqldriver.Conn, error) {
	db, release, err := acquire(name)
	if err != nil {
		return nil, err
	}
	return &conn{db: db, release: release}, nil
}

// OpenConnector opens the database of name, or takes a reference to it
// when this process has it open through the driver already. The reference
// is released by Connector.Close, which sql.DB.Close calls.
func (Driver) OpenConnector(name string) (sqldriver.Connector, error) {
	db, release, err := acquire(name)
	if err != nil {
		return nil, err
	}
	return &Connector{db: db, release: release}, nil
}

// Connector makes connections to one *softdb.DB. It is safe for
// concurrent use.
type Connector struct {
	db      *softdb.DB
	release func() error // nil when the caller owns db
}

// NewConnector returns a Connector over db, for sql.OpenDB. The caller
// keeps ownership of db: closing the sql.DB does not close it, and db
// must stay open while the sql.DB is in use.
func NewConnector(db *softdb.DB) *Connector { return &Connector{db: db} }

// Connect returns a new connection. Connections are cheap: they share the
// database and hold no resources until a transaction begins.
func (c *Connector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	if err := c.db.Ping(ctx); err != nil {
		return nil, err
	}
	return &conn{db: c.db}, nil
}

// Driver returns Driver{}.
func (c *Connector) Driver() sqldriver.Driver { return Driver{} }

// Close releases the connector's reference to a database it opened; the
// last reference closes the database. database/sql calls it from
// sql.DB.Close.
func (c *Connector) Close() error {
	if c.release == nil {
		return nil
	}
	return c.release()
}

// registry holds the databases the driver has open, by directory.
var registry = struct {
	sync.Mutex
	dbs map[string]*shared
}{dbs: map[string]*shared{}}

type shared struct {
	db   *softdb.DB
	refs int
}

// acquire returns the database of name and a function that releases the
// reference taken; the release of the last reference closes the database.
// release is idempotent.
func acquire(name string) (db *softdb.DB, release func() error, err error) {
	if name == "" || name == softdb.Memory {
		db, err := softdb.Open(softdb.Memory, nil)
		if err != nil {
			return nil, nil, err
		}
		return db, once(db.Close), nil
	}
	key, err := dirKey(name)
	if err != nil {
		return nil, nil, err
	}
	registry.Lock()
	defer registry.Unlock()
	sh := registry.dbs[key]
	if sh == nil {
		db, err := softdb.Open(name, nil)
		if err != nil {
			return nil, nil, err
		}
		sh = &shared{db: db}
		registry.dbs[key] = sh
	}
	sh.refs++
	return sh.db, once(func() error {
		registry.Lock()
		defer registry.Unlock()
		sh.refs--
		if sh.refs > 0 {
			return nil
		}
		delete(registry.dbs, key)
		return sh.db.Close()
	}), nil
}

func once(f func() error) func() error {
	var o sync.Once
	var err error
	return func() error {
		o.Do(func() { err = f() })
		return err
	}
}

// dirKey identifies a directory: absolute, with symbolic links resolved.
// It creates the directory first (Open would anyway), so that a path
// spelled before and after creation gets the same key.
func dirKey(name string) (string, error) {
	if err := os.MkdirAll(name, 0o755); err != nil {
		return "", fmt.Errorf("softdb: %w", err)
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}
