// Package geo holds points on Earth and the distance between them. The
// embedded database has no geo index, so every distance is computed here.
package geo

import "math"

// Point is a location in degrees.
type Point struct {
	Lat, Lng float64
}

// Valid reports whether p is on Earth.
func (p Point) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180 &&
		!math.IsNaN(p.Lat) && !math.IsNaN(p.Lng)
}

const earthRadiusKM = 6371.0088

// DistanceKM is the great-circle (haversine) distance between a and b. The
// embedded database has no geo index, so distances are computed here.
func DistanceKM(a, b Point) float64 {
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusKM * math.Asin(math.Min(1, math.Sqrt(s)))
}
