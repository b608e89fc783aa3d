package stations

// State is where a unit is in its life (DESIGN.md, "Unit states").
type State string

// Unit states.
const (
	Available State = "available"
	Reserved  State = "reserved"
	Rented    State = "rented"
	Returned  State = "returned"
	Cleaning  State = "cleaning"
	Repair    State = "repair"
	InTransit State = "in_transit"
	Retired   State = "retired"
	Lost      State = "lost"
)

// States lists every state in display order.
var States = []State{Available, Reserved, Rented, Returned, Cleaning, Repair, InTransit, Retired, Lost}

// moves lists, for each state, the states a unit may move to from it. Nothing
// reaches available except through cleaning (a device is never lent again
// uncleaned), a cancelled reservation, or arriving from another station.
var moves = map[State][]State{
	Available: {Reserved, Rented, Repair, InTransit, Retired, Lost, Cleaning},
	Reserved:  {Available, Rented},
	Rented:    {Returned, Lost},
	Returned:  {Cleaning, Repair},
	Cleaning:  {Available, Repair, Retired},
	Repair:    {Cleaning, Retired},
	InTransit: {Available, Lost},
	Retired:   {},
	// A lost unit that is found goes through inspection like a return
	// (returned), or straight to cleaning or repair when it was lost off a
	// lease; one never found is written off (retired).
	Lost: {Returned, Cleaning, Repair, Retired},
}

// CanMoveTo reports whether the state machine allows from → to.
func (from State) CanMoveTo(to State) bool {
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	_, ok := moves[s]
	return ok
}
