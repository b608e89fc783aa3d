package catalog

// Cleaning checks. Before a device is lent again, the cleaner confirms each
// check of its category's list: only the parts a device of that kind has (a
// walker frame has no seat, wheels or brakes; a mattress has no frame). The
// page shows each check as the message "check.<id>".
const (
	CheckFrame         = "frame"
	CheckSeat          = "seat"
	CheckWheelsBrakes  = "wheels_brakes"
	CheckMovingParts   = "moving_parts"
	CheckHandgrips     = "handgrips"
	CheckRubberTips    = "rubber_tips"
	CheckHeightAdjust  = "height_adjust"
	CheckUnderarmPads  = "underarm_pads"
	CheckBatteryCharge = "battery_charger"
	CheckControls      = "controls"
	CheckFootrests     = "footrests"
	CheckCommodePail   = "commode_pail"
	CheckSideRails     = "side_rails"
	CheckMattressCover = "mattress_cover"
	CheckPumpTubes     = "pump_tubes"
	CheckSlingStraps   = "sling_straps"
	CheckLabels        = "labels"
)

// cleaningChecks lists the checks of each category (Categories), labels
// last: every device carries its asset tag.
var cleaningChecks = map[string][]string{
	"manual_wheelchair":    {CheckFrame, CheckSeat, CheckWheelsBrakes, CheckFootrests, CheckMovingParts, CheckLabels},
	"transport_wheelchair": {CheckFrame, CheckSeat, CheckWheelsBrakes, CheckFootrests, CheckMovingParts, CheckLabels},
	"electric_wheelchair":  {CheckFrame, CheckSeat, CheckWheelsBrakes, CheckFootrests, CheckControls, CheckBatteryCharge, CheckLabels},
	"walker":               {CheckFrame, CheckHandgrips, CheckRubberTips, CheckHeightAdjust, CheckLabels},
	"rollator":             {CheckFrame, CheckSeat, CheckHandgrips, CheckWheelsBrakes, CheckMovingParts, CheckLabels},
	"cane":                 {CheckHandgrips, CheckRubberTips, CheckHeightAdjust, CheckLabels},
	"crutches":             {CheckUnderarmPads, CheckHandgrips, CheckRubberTips, CheckHeightAdjust, CheckLabels},
	"shower_chair":         {CheckFrame, CheckSeat, CheckRubberTips, CheckHeightAdjust, CheckLabels},
	"commode_chair":        {CheckFrame, CheckSeat, CheckCommodePail, CheckRubberTips, CheckLabels},
	"hospital_bed":         {CheckFrame, CheckSideRails, CheckWheelsBrakes, CheckMovingParts, CheckControls, CheckLabels},
	"pressure_mattress":    {CheckMattressCover, CheckPumpTubes, CheckControls, CheckLabels},
	"transfer_aid":         {CheckFrame, CheckSlingStraps, CheckMovingParts, CheckLabels},
}

// genericChecks are asked of a device whose category is not known.
var genericChecks = []string{CheckFrame, CheckMovingParts, CheckLabels}

// CleaningChecklist returns the checks a cleaner confirms for a device of
// category, in the order the page shows them.
func CleaningChecklist(category string) []string {
	if c, ok := cleaningChecks[category]; ok {
		return append([]string(nil), c...)
	}
	return append([]string(nil), genericChecks...)
}

// CleaningChecklistOf returns the checks for a unit of the product with id
// (stations asks this when a unit is cleaned).
func (s *Service) CleaningChecklistOf(productID string) []string {
	p, _ := s.Lookup(productID)
	return CleaningChecklist(p.Category)
}
