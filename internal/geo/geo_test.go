package geo

import (
	"math"
	"testing"
)

func TestDistance(t *testing.T) {
	// Jiaozuo centre to Zhengzhou centre is about 63 km in a straight line.
	d := DistanceKM(Point{Lat: 35.215, Lng: 113.242}, Point{Lat: 34.7466, Lng: 113.6254})
	if math.Abs(d-63) > 8 {
		t.Errorf("Jiaozuo–Zhengzhou = %.1f km", d)
	}
	if d := DistanceKM(Point{Lat: 35.2, Lng: 113.2}, Point{Lat: 35.2, Lng: 113.2}); d != 0 {
		t.Errorf("same point = %v", d)
	}
	// One degree of latitude is ~111.2 km everywhere.
	if d := DistanceKM(Point{Lat: 35, Lng: 113}, Point{Lat: 36, Lng: 113}); math.Abs(d-111.2) > 0.2 {
		t.Errorf("1° latitude = %.2f km", d)
	}
}
