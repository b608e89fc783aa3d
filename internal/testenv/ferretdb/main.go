// Command ferretdb serves the MongoDB wire protocol in front of a PostgreSQL
// database, with the PostgreSQL handler of FerretDB v1.24 (the module Fuju
// pins), for running several instances on one machine as the README shows.
// It is what the tests start in their own process, as a program: a helper,
// not part of Fuju. A deployment runs FerretDB's own release instead (the
// released module cannot be built with go install: its version file is
// generated at release time).
//
//	go run ./internal/testenv/ferretdb -postgresql-url postgres://fuju@127.0.0.1:8112/fuju -listen 127.0.0.1:8113
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"fuju/internal/testenv"
)

func main() {
	pgURL := flag.String("postgresql-url", "postgres://127.0.0.1:5432/fuju", "the PostgreSQL database to store in")
	listen := flag.String("listen", "127.0.0.1:27017", "address to serve the MongoDB wire protocol on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	s, err := testenv.StartFerretDB(*pgURL, *listen, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
	fmt.Printf("FerretDB (PostgreSQL handler) at %s\n", s.URI)
	<-ctx.Done()
	s.Stop()
}
