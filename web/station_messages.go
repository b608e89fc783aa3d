package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"fuju/messages"
	"fuju/stations"
)

// A station's message log: every message sent on a station's behalf, newest
// first, numbers masked, phone codes without their text. Staff see their own
// stations' (/staff/messages), operator admins any of their operator's
// (/operator/stations/:id/messages); another operator's station is 404.

// stationLogPerPage is how many messages a page of a station's log shows.
const stationLogPerPage = 50

// stationLog reads one page of st's log as the caller's scope allows.
func (s *Server) stationLog(c *gin.Context, st stations.Station, page, perPage int) ([]messages.Message, int64, error) {
	if s.messages == nil {
		return nil, 0, errNotFound
	}
	return s.messages.StationLog(c.Request.Context(), scopeOf(c), st.OperatorID, st.ID, int64(page-1)*int64(perPage), int64(perPage))
}

// opStation is a station of the city by id, for the operator's routes: the
// log's scope check decides whether the caller may see it.
func (s *Server) opStation(id string) (stations.Station, error) {
	st, ok := s.stations.Index().Station(id)
	if !ok {
		return stations.Station{}, errNotFound
	}
	return st, nil
}

func (s *Server) stationLogAPI(c *gin.Context, st stations.Station, q *params) error {
	page, perPage := pageParams(q, stationLogPerPage, messages.MaxPerPage)
	if err := q.err(); err != nil {
		return err
	}
	items, total, err := s.stationLog(c, st, page, perPage)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list[messages.Message]{Items: nonNil(items), Total: int(total), Page: page, PerPage: perPage})
	return nil
}

func (s *Server) listStaffMessagesAPI(c *gin.Context) error {
	q := newParams(c)
	q.only("station", "page", "per_page")
	if err := q.err(); err != nil {
		return err
	}
	st, err := s.deskStation(c, c.Query("station"))
	if err != nil {
		return err
	}
	return s.stationLogAPI(c, st, q)
}

func (s *Server) listOpStationMessagesAPI(c *gin.Context) error {
	q := newParams(c)
	q.only("page", "per_page")
	st, err := s.opStation(c.Param("id"))
	if err != nil {
		return err
	}
	return s.stationLogAPI(c, st, q)
}

type staffLogPage struct {
	deskBase
	Messages []messages.Message
	Pager    opPager
}

type opStationLogPage struct {
	opConsole
	Station  stations.Station
	Messages []messages.Message
	Pager    opPager
}

// logPage reads the page asked for of st's log for a page at path.
func (s *Server) logPage(c *gin.Context, st stations.Station, path string) ([]messages.Message, opPager, error) {
	q := newParams(c)
	page, _ := pageParams(q, stationLogPerPage, stationLogPerPage)
	if err := q.err(); err != nil {
		return nil, opPager{}, err
	}
	items, total, err := s.stationLog(c, st, page, stationLogPerPage)
	if err != nil {
		return nil, opPager{}, err
	}
	return items, newOpPager(path, c.Request.URL.Query(), page, stationLogPerPage, total), nil
}

func (s *Server) showStaffMessages(c *gin.Context) error {
	d, err := s.deskBase(c, "msglog.title")
	if err != nil {
		return err
	}
	p := staffLogPage{deskBase: d}
	if p.Messages, p.Pager, err = s.logPage(c, d.Station, "/staff/messages"); err != nil {
		return err
	}
	p.Title = p.T("msglog.heading", p.Tx(d.Station.Name))
	return s.render(c, http.StatusOK, "staff_messages", &p)
}

func (s *Server) showOpStationMessages(c *gin.Context) error {
	st, err := s.opStation(c.Param("id"))
	if err != nil {
		return err
	}
	p := opStationLogPage{opConsole: s.opConsole(c, "msglog.title", "stations"), Station: st}
	if p.Messages, p.Pager, err = s.logPage(c, st, "/operator/stations/"+st.ID+"/messages"); err != nil {
		return err
	}
	p.Title = p.T("msglog.heading", p.Tx(st.Name))
	return s.render(c, http.StatusOK, "operator_station_messages", &p)
}
