package main

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Under steady load new connections never stop arriving: Close drains
// what is queued, then closes, and every connection it accepted reaches
// Accept before the listener reports closed.
func TestDrainingListenerClosesUnderLoad(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dl := newDrainingListener(l.(*net.TCPListener))
	var accepted atomic.Int64
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := dl.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	stop := make(chan struct{})
	var dialled atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
					dialled.Add(1)
					c.Close()
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- dl.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close kept draining while clients kept connecting")
	}
	close(stop)
	wg.Wait()
	<-served
	// A dial that completed before Close shut the socket was accepted; none
	// is left in a backlog to be reset.
	if accepted.Load() == 0 || accepted.Load() > dialled.Load() {
		t.Errorf("accepted %d of %d dialled connections", accepted.Load(), dialled.Load())
	}
}
