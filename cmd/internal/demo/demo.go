// Package demo is the demo city: Jiaozuo with three operators, twenty stations
// across its districts and counties, sixteen products and about four hundred
// units in mixed states. It is deterministic, so tests and the benchmark can
// rely on it, and it can be scaled up to measure a bigger city.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/cmd/internal/app"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/media"
	"fuju/rentals"
	"fuju/stations"
)

// Station is one demo station.
type Station struct {
	ID, op, district string
	name, addr       l10n.Text
	lat, lng         float64
	phone            string
	saturday, sunday bool
}

// Operators of the demo city.
var Operators = []stations.Operator{
	{ID: "op-kangning", Name: l10n.Text{Zh: "焦作康宁辅具服务有限公司", En: "Kangning Assistive Services"}, Phone: "0391-3561200"},
	{ID: "op-yikang", Name: l10n.Text{Zh: "怡康养老服务中心", En: "Yikang Elder Care Centre"}, Phone: "0391-2925800"},
	{ID: "op-anxin", Name: l10n.Text{Zh: "安心居家护理服务社", En: "Anxin Home Care"}, Phone: "0391-7283300"},
}

// Stations of the demo city.
var Stations = []Station{
	{"jf-minzhu", "op-kangning", "jiefang", l10n.Text{Zh: "解放区民主路社区辅具站", En: "Minzhu Road Community Station"}, l10n.Text{Zh: "解放区民主南路 218 号社区服务中心一楼", En: "1F Community Centre, 218 Minzhu South Rd, Jiefang"}, 35.2391, 113.2298, "0391-3561201", true, false},
	{"jf-jiaodong", "op-kangning", "jiefang", l10n.Text{Zh: "解放区焦东路辅具站", En: "Jiaodong Road Station"}, l10n.Text{Zh: "解放区焦东北路 66 号", En: "66 Jiaodong North Rd, Jiefang"}, 35.2468, 113.2411, "0391-3561202", true, true},
	{"jf-jianshe", "op-yikang", "jiefang", l10n.Text{Zh: "解放区建设路养老服务站", En: "Jianshe Road Elder Care Station"}, l10n.Text{Zh: "解放区建设中路 109 号", En: "109 Jianshe Middle Rd, Jiefang"}, 35.2356, 113.2189, "0391-2925801", true, false},
	{"sy-renmin", "op-kangning", "shanyang", l10n.Text{Zh: "山阳区人民路辅具站", En: "Renmin Road Station"}, l10n.Text{Zh: "山阳区人民中路 1288 号", En: "1288 Renmin Middle Rd, Shanyang"}, 35.2152, 113.2420, "0391-3561203", true, false},
	{"sy-tanan", "op-yikang", "shanyang", l10n.Text{Zh: "山阳区塔南路社区站", En: "Tanan Road Community Station"}, l10n.Text{Zh: "山阳区塔南路 356 号颐养中心", En: "Elder Care Centre, 356 Tanan Rd, Shanyang"}, 35.2061, 113.2552, "0391-2925802", true, false},
	{"sy-fengshou", "op-anxin", "shanyang", l10n.Text{Zh: "山阳区丰收路服务点", En: "Fengshou Road Service Point"}, l10n.Text{Zh: "山阳区丰收中路 2001 号", En: "2001 Fengshou Middle Rd, Shanyang"}, 35.2228, 113.2701, "0391-7283301", false, false},
	{"zz-fengfeng", "op-kangning", "zhongzhan", l10n.Text{Zh: "中站区冯封街道辅具站", En: "Fengfeng Subdistrict Station"}, l10n.Text{Zh: "中站区冯封街道站前路 18 号", En: "18 Zhanqian Rd, Fengfeng, Zhongzhan"}, 35.2367, 113.1702, "0391-3561204", true, false},
	{"zz-lishan", "op-yikang", "zhongzhan", l10n.Text{Zh: "中站区李封社区站", En: "Lifeng Community Station"}, l10n.Text{Zh: "中站区李封街道跃进路 90 号", En: "90 Yuejin Rd, Lifeng, Zhongzhan"}, 35.2431, 113.1905, "0391-2925803", true, false},
	{"mc-daiwang", "op-kangning", "macun", l10n.Text{Zh: "马村区待王街道辅具站", En: "Daiwang Subdistrict Station"}, l10n.Text{Zh: "马村区待王街道文化路 25 号", En: "25 Wenhua Rd, Daiwang, Macun"}, 35.2589, 113.3187, "0391-3561205", true, false},
	{"mc-jiulishan", "op-anxin", "macun", l10n.Text{Zh: "马村区九里山服务点", En: "Jiulishan Service Point"}, l10n.Text{Zh: "马村区九里山乡政府东侧", En: "East of Jiulishan Township Office, Macun"}, 35.2712, 113.3419, "0391-7283302", true, false},
	{"sf-shiji", "op-yikang", "shifan", l10n.Text{Zh: "示范区世纪路养老驿站", En: "Shiji Road Elder Care Post"}, l10n.Text{Zh: "示范区世纪路 3299 号", En: "3299 Shiji Rd, Demonstration Zone"}, 35.1893, 113.2652, "0391-2925804", true, true},
	{"wz-mucheng", "op-kangning", "wuzhi", l10n.Text{Zh: "武陟县木城镇辅具站", En: "Mucheng Town Station"}, l10n.Text{Zh: "武陟县木城镇兴华路 88 号", En: "88 Xinghua Rd, Mucheng, Wuzhi"}, 35.1004, 113.3975, "0391-3561206", true, false},
	{"wz-longyuan", "op-anxin", "wuzhi", l10n.Text{Zh: "武陟县龙源服务点", En: "Longyuan Service Point"}, l10n.Text{Zh: "武陟县龙源街道和平路 12 号", En: "12 Heping Rd, Longyuan, Wuzhi"}, 35.0921, 113.4102, "0391-7283303", false, false},
	{"wx-wenquan", "op-yikang", "wenxian", l10n.Text{Zh: "温县温泉街道养老站", En: "Wenquan Elder Care Station"}, l10n.Text{Zh: "温县温泉街道子夏大街 156 号", En: "156 Zixia Ave, Wenquan, Wen County"}, 34.9416, 113.0797, "0391-2925805", true, false},
	{"ba-qinghua", "op-kangning", "boai", l10n.Text{Zh: "博爱县清化镇辅具站", En: "Qinghua Town Station"}, l10n.Text{Zh: "博爱县清化镇健康路 45 号", En: "45 Jiankang Rd, Qinghua, Bo'ai"}, 35.1707, 113.0662, "0391-3561207", true, false},
	{"xw-chengguan", "op-yikang", "xiuwu", l10n.Text{Zh: "修武县城关镇养老站", En: "Chengguan Elder Care Station"}, l10n.Text{Zh: "修武县城关镇朝阳路 210 号", En: "210 Chaoyang Rd, Chengguan, Xiuwu"}, 35.2249, 113.4468, "0391-2925806", true, false},
	{"qy-qinhuai", "op-kangning", "qinyang", l10n.Text{Zh: "沁阳市覃怀街道辅具站", En: "Qinhuai Subdistrict Station"}, l10n.Text{Zh: "沁阳市覃怀中路 301 号", En: "301 Qinhuai Middle Rd, Qinyang"}, 35.0883, 112.9471, "0391-3561208", true, false},
	{"qy-taihang", "op-anxin", "qinyang", l10n.Text{Zh: "沁阳市太行服务点", En: "Taihang Service Point"}, l10n.Text{Zh: "沁阳市太行街道建设路 77 号", En: "77 Jianshe Rd, Taihang, Qinyang"}, 35.0951, 112.9583, "0391-7283304", true, false},
	{"mz-heyang", "op-kangning", "mengzhou", l10n.Text{Zh: "孟州市河阳街道辅具站", En: "Heyang Subdistrict Station"}, l10n.Text{Zh: "孟州市河阳街道韩愈大街 520 号", En: "520 Hanyu Ave, Heyang, Mengzhou"}, 34.9077, 112.7889, "0391-3561209", true, false},
	{"mz-huixing", "op-yikang", "mengzhou", l10n.Text{Zh: "孟州市会昌养老站", En: "Huichang Elder Care Station"}, l10n.Text{Zh: "孟州市会昌街道育才路 39 号", En: "39 Yucai Rd, Huichang, Mengzhou"}, 34.9012, 112.7768, "0391-2925807", true, false},
}

// Product is one demo product and how many units of it the city has.
type Product struct {
	P    catalog.Product
	code string // asset tag middle part
	n    int    // units to create
}

func fen(yuan float64) int64 { return int64(yuan*100 + 0.5) }

// rate is a rate plan in yuan: per day, per 30 days, deposit, and what a
// new unit costs (the replacement value lost devices are charged from).
func rate(day, block, deposit, replacement float64) catalog.RatePlan {
	return catalog.RatePlan{DailyFen: fen(day), Block30Fen: fen(block), DepositFen: fen(deposit), ReplacementFen: fen(replacement)}
}

// Products of the demo city.
var Products = []Product{
	{catalog.Product{ID: "wc-steel-standard", OperatorID: "op-kangning", Category: "manual_wheelchair",
		Name:        l10n.Text{Zh: "钢制标准手动轮椅", En: "Standard steel wheelchair"},
		Description: l10n.Text{Zh: "结实耐用的日常轮椅，实心后轮免充气，扶手可掀起方便侧方转移。适合居家和短途外出。", En: "A sturdy everyday wheelchair with puncture-proof rear wheels and flip-up armrests for side transfers. Good for home and short trips."},
		Specs:       catalog.Specs{SeatWidthCM: 46, SeatHeightCM: 50, WidthCM: 66, LengthCM: 102, WeightKG: 18.5, MaxUserKG: 100, Foldable: true},
		Rate:        rate(4, 80, 300, 680), Keywords: []string{"轮椅", "手动", "折叠", "wheelchair"}}, "WC", 60},
	{catalog.Product{ID: "wc-alu-light", OperatorID: "op-kangning", Category: "manual_wheelchair",
		Name:        l10n.Text{Zh: "铝合金轻便折叠轮椅", En: "Lightweight aluminium wheelchair"},
		Description: l10n.Text{Zh: "仅 11.8 公斤，折叠后可放进小轿车后备箱，适合带老人看病、出游。", En: "Only 11.8 kg and folds into a car boot: good for hospital visits and outings."},
		Specs:       catalog.Specs{SeatWidthCM: 43, SeatHeightCM: 49, WidthCM: 60, LengthCM: 96, WeightKG: 11.8, MaxUserKG: 100, Foldable: true},
		Rate:        rate(6, 120, 500, 1280), Keywords: []string{"轮椅", "轻便", "旅行", "lightweight", "travel"}}, "WC", 40},
	{catalog.Product{ID: "wc-transport", OperatorID: "op-yikang", Category: "transport_wheelchair",
		Name:        l10n.Text{Zh: "护理型小轮轮椅", En: "Attendant transport wheelchair"},
		Description: l10n.Text{Zh: "由家人推行的小轮轮椅，车身窄，进出电梯和窄门方便，带手刹。", En: "A narrow, small-wheeled chair pushed by a carer; fits lifts and narrow doors, with attendant brakes."},
		Specs:       catalog.Specs{SeatWidthCM: 41, SeatHeightCM: 48, WidthCM: 55, LengthCM: 90, WeightKG: 9.6, MaxUserKG: 100, Foldable: true},
		Rate:        rate(5, 100, 400, 880), Keywords: []string{"轮椅", "护理", "推行", "transport"}}, "TW", 30},
	{catalog.Product{ID: "wc-electric-fold", OperatorID: "op-kangning", Category: "electric_wheelchair",
		Name:        l10n.Text{Zh: "折叠电动轮椅", En: "Folding electric wheelchair"},
		Description: l10n.Text{Zh: "锂电池续航约 20 公里，摇杆操作，可切换手推模式；借用时工作人员会教您充电和操作。", En: "Lithium battery with about 20 km range, joystick control and a manual push mode; staff show you how to charge and drive it."},
		Specs:       catalog.Specs{SeatWidthCM: 45, SeatHeightCM: 50, WidthCM: 63, LengthCM: 105, WeightKG: 26, MaxUserKG: 120, Foldable: true, RangeKM: 20},
		Rate:        rate(25, 500, 2000, 4800), Keywords: []string{"电动", "轮椅", "electric", "power"}}, "EW", 12},
	{catalog.Product{ID: "walker-frame", OperatorID: "op-kangning", Category: "walker",
		Name:        l10n.Text{Zh: "铝合金四脚助行架", En: "Aluminium walking frame"},
		Description: l10n.Text{Zh: "四脚着地最稳，高度八档可调，可折叠。适合术后康复和平衡不好的老人。", En: "Four rubber feet for the most stability, eight height settings, folds flat. For recovery after surgery and poor balance."},
		Specs:       catalog.Specs{WidthCM: 56, WeightKG: 2.6, MaxUserKG: 100, Foldable: true, AdjustableHeight: true},
		Rate:        rate(2, 30, 100, 160), Keywords: []string{"助行", "康复", "walking frame"}}, "WK", 45},
	{catalog.Product{ID: "walker-wheeled", OperatorID: "op-yikang", Category: "walker",
		Name:        l10n.Text{Zh: "前轮助行架", En: "Two-wheel walker"},
		Description: l10n.Text{Zh: "前面两个小轮，推着走不用抬起，比四脚助行架省力。", En: "Two front wheels so it glides instead of being lifted at each step."},
		Specs:       catalog.Specs{WidthCM: 58, WeightKG: 3.2, MaxUserKG: 100, Foldable: true, AdjustableHeight: true, Wheels: 2},
		Rate:        rate(3, 45, 150, 260), Keywords: []string{"助行", "带轮"}}, "WK", 25},
	{catalog.Product{ID: "rollator-seat", OperatorID: "op-anxin", Category: "rollator",
		Name:        l10n.Text{Zh: "带座椅四轮助行车", En: "Four-wheel rollator with seat"},
		Description: l10n.Text{Zh: "走累了可以坐下休息，带购物袋和双手刹，适合能自己行走但走不远的老人。", En: "Sit down when tired; shopping bag and two hand brakes. For elders who can walk but not far."},
		Specs:       catalog.Specs{SeatHeightCM: 55, WidthCM: 62, WeightKG: 7.5, MaxUserKG: 130, Foldable: true, AdjustableHeight: true, Wheels: 4},
		Rate:        rate(5, 90, 300, 680), Keywords: []string{"助行车", "座椅", "买菜", "rollator"}}, "RL", 20},
	{catalog.Product{ID: "cane-quad", OperatorID: "op-kangning", Category: "cane",
		Name:        l10n.Text{Zh: "四脚拐杖", En: "Quad cane"},
		Description: l10n.Text{Zh: "四脚底座可以自己站稳，松手不倒，十档高度可调。", En: "A four-footed base that stands on its own; ten height settings."},
		Specs:       catalog.Specs{WeightKG: 1.1, MaxUserKG: 100, AdjustableHeight: true},
		Rate:        rate(1, 15, 50, 90), Keywords: []string{"拐杖", "手杖", "quad"}}, "CN", 35},
	{catalog.Product{ID: "cane-folding", OperatorID: "op-yikang", Category: "cane",
		Name:        l10n.Text{Zh: "可折叠手杖", En: "Folding cane"},
		Description: l10n.Text{Zh: "折成四节可放进包里，带夜间反光条。", En: "Folds into four parts to fit a bag; reflective strip for evenings."},
		Specs:       catalog.Specs{WeightKG: 0.4, MaxUserKG: 100, Foldable: true, AdjustableHeight: true},
		Rate:        rate(1, 10, 30, 60), Keywords: []string{"拐杖", "折叠"}}, "CN", 20},
	{catalog.Product{ID: "crutches-alu", OperatorID: "op-kangning", Category: "crutches",
		Name:        l10n.Text{Zh: "铝合金腋拐（一对）", En: "Aluminium underarm crutches (pair)"},
		Description: l10n.Text{Zh: "骨折、扭伤后短期使用，腋托和手柄高度都可调。", En: "For a few weeks after a fracture or sprain; underarm pad and handle both adjust."},
		Specs:       catalog.Specs{WeightKG: 1.8, MaxUserKG: 120, AdjustableHeight: true},
		Rate:        rate(2, 25, 100, 150), Keywords: []string{"拐杖", "骨折", "crutch"}}, "CR", 25},
	{catalog.Product{ID: "shower-chair", OperatorID: "op-yikang", Category: "shower_chair",
		Name:        l10n.Text{Zh: "带靠背洗澡椅", En: "Shower chair with backrest"},
		Description: l10n.Text{Zh: "防滑脚垫、座面排水孔、高度可调，让老人坐着安全洗澡。", En: "Non-slip feet, a drained seat and adjustable height, so bathing can be done safely seated."},
		Specs:       catalog.Specs{SeatWidthCM: 45, WeightKG: 3.5, MaxUserKG: 136, AdjustableHeight: true},
		Rate:        rate(2, 30, 100, 180), Keywords: []string{"洗澡", "沐浴", "bath", "shower"}}, "SH", 25},
	{catalog.Product{ID: "commode-chair", OperatorID: "op-anxin", Category: "commode_chair",
		Name:        l10n.Text{Zh: "可折叠坐便椅", En: "Folding commode chair"},
		Description: l10n.Text{Zh: "可放在床边夜间使用，也可以架在马桶上当扶手，带便桶和盖板。", En: "Use it at the bedside at night or over the toilet as a frame; comes with bucket and lid."},
		Specs:       catalog.Specs{SeatWidthCM: 42, WeightKG: 6, MaxUserKG: 100, Foldable: true, AdjustableHeight: true},
		Rate:        rate(3, 45, 150, 280), Keywords: []string{"坐便", "马桶", "commode", "toilet"}}, "CM", 20},
	{catalog.Product{ID: "bed-manual", OperatorID: "op-yikang", Category: "hospital_bed",
		Name:        l10n.Text{Zh: "手摇双摇护理床", En: "Two-crank manual hospital bed"},
		Description: l10n.Text{Zh: "两个摇把分别抬背、抬腿，带护栏和输液架，工作人员可上门安装。", En: "Two cranks raise the back and the legs; side rails and drip stand; staff can deliver and assemble it."},
		Specs:       catalog.Specs{WidthCM: 95, LengthCM: 210, WeightKG: 58, MaxUserKG: 150},
		Rate:        rate(15, 300, 1000, 2600), Keywords: []string{"护理床", "病床", "卧床", "bed"}}, "BD", 10},
	{catalog.Product{ID: "bed-electric", OperatorID: "op-kangning", Category: "hospital_bed",
		Name:        l10n.Text{Zh: "三功能电动护理床", En: "Three-function electric hospital bed"},
		Description: l10n.Text{Zh: "按键抬背、抬腿、升降床面，方便护理和上下床。", En: "Buttons raise the back, the legs and the whole bed for easier care and transfers."},
		Specs:       catalog.Specs{WidthCM: 98, LengthCM: 212, WeightKG: 75, MaxUserKG: 170, AdjustableHeight: true},
		Rate:        rate(30, 600, 2000, 6800), Keywords: []string{"护理床", "电动", "bed"}}, "BD", 8},
	{catalog.Product{ID: "mattress-air", OperatorID: "op-anxin", Category: "pressure_mattress",
		Name:        l10n.Text{Zh: "防褥疮气垫床", En: "Alternating-pressure air mattress"},
		Description: l10n.Text{Zh: "气囊交替充放气，减轻长期卧床老人的压疮风险，铺在普通床垫上使用。", En: "Cells inflate in turn to relieve pressure for people in bed all day; lies on top of an ordinary mattress."},
		Specs:       catalog.Specs{WidthCM: 90, LengthCM: 200, WeightKG: 4.5, MaxUserKG: 135},
		Rate:        rate(6, 120, 300, 900), Keywords: []string{"褥疮", "气垫", "卧床", "mattress"}}, "MT", 15},
	{catalog.Product{ID: "transfer-belt", OperatorID: "op-yikang", Category: "transfer_aid",
		Name:        l10n.Text{Zh: "移位腰带", En: "Transfer belt"},
		Description: l10n.Text{Zh: "家人扶老人从床上到轮椅时系在腰上，手有地方抓，省力也更安全。", En: "Worn round the waist so a carer has a firm grip when moving someone from bed to chair."},
		Specs:       catalog.Specs{WeightKG: 0.5, MaxUserKG: 150},
		Rate:        rate(1, 15, 50, 80), Keywords: []string{"移位", "转移", "transfer"}}, "TA", 15},
}

// seedPhotos draws the product's demo photos and stores them through the same
// pipeline uploads use: two for the first products (so their pages show a
// gallery), one for the rest.
func seedPhotos(ctx context.Context, a *app.App, index int, p catalog.Product, by tenancy.Actor) error {
	n := 1
	if index < 4 {
		n = 2
	}
	for i := 0; i < n; i++ {
		img, err := media.DemoImage(p.Category, index*10+i, p.Name.En)
		if err != nil {
			return err
		}
		saved, err := a.Media.SavePhoto(ctx, media.Public, bytes.NewReader(img))
		if err != nil {
			return err
		}
		widths := make([]int, len(saved.Variants))
		for j, v := range saved.Variants {
			widths[j] = v.Width
		}
		view := [][2]string{{"正面", "front"}, {"侧面", "side"}}[i]
		alt := catalog.Text{Zh: p.Name.Zh + "（" + view[0] + "）", En: p.Name.En + " (" + view[1] + ")"}
		ph := catalog.Photo{Key: saved.Hash, Alt: alt, Widths: widths, Width: saved.Width, Height: saved.Height}
		if _, err := a.Catalog.AddPhoto(ctx, tenancy.PlatformScope, p.ID, ph, by); err != nil {
			return err
		}
	}
	return nil
}

// DemoPassword is the password of the demo accounts. It exists only in a
// database seeded with the demo city (FUJU_DEMO), never in a real one.
const DemoPassword = "fuju-demo-2026"

// Accounts are the demo city's logins, one per role.
var Accounts = []accounts.NewUser{
	{Name: "市民政局 管理员", Phone: "13800000001", Role: accounts.PlatformAdmin},
	{Name: "康宁 运营主管", Phone: "13800000002", Role: accounts.OperatorAdmin, OperatorID: "op-kangning"},
	{Name: "民主路站 张敏", Phone: "13800000003", Role: accounts.Staff, OperatorID: "op-kangning", StationIDs: []string{"jf-minzhu", "jf-jiaodong"}},
	{Name: "怡康 运营主管", Phone: "13800000004", Role: accounts.OperatorAdmin, OperatorID: "op-yikang"},
	{Name: "王芳（家属）", Phone: "13800000005", Role: accounts.Renter},
}

func seedAccounts(ctx context.Context, a *app.App) error {
	for _, u := range Accounts {
		u.Password = DemoPassword
		if _, err := a.Auth.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("demo account %s: %w", u.Phone, err)
		}
	}
	return nil
}

// SeedIfEmpty loads the demo city unless the database already has operators.
// scale multiplies the number of units (1 for the demo, 10 or 100 for the
// benchmark); history adds the year before today (at scale 1 only).
func SeedIfEmpty(ctx context.Context, a *app.App, scale int, history bool) (bool, error) {
	ops, err := a.Stations.Operators(ctx)
	if err != nil {
		return false, err
	}
	if len(ops) > 0 {
		return false, nil
	}
	return true, Seed(ctx, a, scale, history)
}

// Seed loads the demo city into an empty database (see SeedIfEmpty).
func Seed(ctx context.Context, a *app.App, scale int, history bool) error {
	if scale < 1 {
		scale = 1
	}
	for _, o := range Operators {
		if _, err := a.Stations.CreateOperator(ctx, o, tenancy.System); err != nil {
			return err
		}
	}
	byOp := map[string][]string{}
	for _, d := range Stations {
		h := stations.StandardHours()
		if !d.saturday {
			h.Week[time.Saturday] = stations.Day{Closed: true}
		}
		if d.sunday {
			h.Week[time.Sunday] = stations.Day{Open: "09:00", Close: "12:00"}
		}
		// National Day holidays.
		h.ClosedOn = []string{"2026-10-01", "2026-10-02", "2026-10-03"}
		st := stations.Station{ID: d.ID, OperatorID: d.op, Name: d.name, Address: d.addr, District: d.district,
			Lat: d.lat, Lng: d.lng, Phone: d.phone, Hours: h, Active: true}
		if _, err := a.Stations.CreateStation(ctx, st); err != nil {
			return err
		}
		byOp[d.op] = append(byOp[d.op], d.ID)
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	serial := map[string]int{}
	seeder := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	type later struct {
		tag  string
		move stations.Move
	}
	var moves []later
	var batch []stations.Unit
	flush := func() error {
		errs, err := a.Stations.CreateUnits(ctx, batch, seeder)
		if err != nil {
			return err
		}
		for i, e := range errs {
			if e != nil {
				return fmt.Errorf("demo unit %s: %w", batch[i].Tag, e)
			}
		}
		batch = batch[:0]
		return nil
	}
	// The units of the demo city (scale 1) arrive before its year of
	// history (seedHistory), so their logs start before it.
	history = history && scale == 1
	now := time.Now().In(l10n.Local)
	if history {
		born := historyStart(now).AddDate(0, 0, -7)
		a.Stations.SetClock(func() time.Time { return born.UTC() })
		defer a.Stations.SetClock(func() time.Time { return time.Now().UTC() })
	}
	width := 4
	if scale >= 10 {
		width = 6
	}
	for pi, dp := range Products {
		if _, err := a.Catalog.Create(ctx, tenancy.PlatformScope, dp.P, seeder); err != nil {
			return err
		}
		if err := seedPhotos(ctx, a, pi, dp.P, seeder); err != nil {
			return err
		}
		sts := byOp[dp.P.OperatorID]
		for i := 0; i < dp.n*scale; i++ {
			serial[dp.code]++
			tag := fmt.Sprintf("JZ-%s-%0*d", dp.code, width, serial[dp.code])
			u := stations.Unit{Tag: tag, ProductID: dp.P.ID, StationID: sts[i%len(sts)],
				AcquiredOn: time.Date(2024+rng.IntN(3), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, l10n.Local).Format(time.DateOnly)}
			roll := rng.IntN(100)
			switch {
			case roll < 8:
				u.State = stations.Cleaning
			case roll < 12:
				u.State, u.Condition = stations.Repair, "刹车松动 / brake loose"
			default:
				u.State = stations.Available
			}
			switch {
			case roll >= 12 && roll < 15 && len(sts) > 1 && scale == 1:
				moves = append(moves, later{tag, stations.Move{To: stations.InTransit, ToStation: sts[(i+1)%len(sts)], By: seeder, Kind: "transfer", Why: "rebalancing stock"}})
			case roll >= 15 && roll < 17 && scale == 1:
				moves = append(moves, later{tag, stations.Move{To: stations.Retired, By: seeder, Kind: "retired", Why: "frame worn out"}})
			}
			batch = append(batch, u)
			if len(batch) == 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if history {
		if err := seedHistory(ctx, a, now); err != nil {
			return fmt.Errorf("demo history: %w", err)
		}
		a.Stations.SetClock(func() time.Time { return time.Now().UTC() })
	}
	for _, m := range moves {
		if _, err := a.Stations.Move(ctx, m.tag, m.move); err != nil {
			return err
		}
	}
	if err := seedAccounts(ctx, a); err != nil {
		return err
	}
	if err := seedLeases(ctx, a); err != nil {
		return err
	}
	if err := seedFamily(ctx, a); err != nil {
		return err
	}
	if err := seedApplications(ctx, a); err != nil {
		return err
	}
	if err := seedLastMonth(ctx, a, now); err != nil {
		return err
	}
	return seedReservations(ctx, a)
}

// demoRenters are elders registered at Kangning's Minzhu Road station, some
// with a verified income tier, each borrowing one device.
var demoRenters = []struct {
	name  string
	age   int
	tier  rentals.Tier
	proof string
	days  int
}{
	{"赵桂兰", 81, rentals.Subsistence, rentals.ProofDibaoCard, 30},
	{"钱德明", 77, rentals.LowIncome, rentals.ProofLowIncomeCertificate, 60},
	{"孙秀英", 84, rentals.Subsistence, rentals.ProofTekunCard, 90},
	{"李建国", 69, rentals.Standard, "", 14},
	{"周玉珍", 73, rentals.LowIncome, rentals.ProofLowIncomeCertificate, 30},
	{"吴长林", 88, rentals.Standard, "", 7},
}

// idNumber makes a valid 18-character resident ID number (with its check
// character) for a demo renter born in Jiaozuo's Jiefang district.
func idNumber(born time.Time, seq int) string {
	body := fmt.Sprintf("410802%s%03d", born.Format("20060102"), seq)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// seedLeases registers the demo renters and lends each a device at the
// Minzhu Road desk, so the desk and the ledger have something to show.
func seedLeases(ctx context.Context, a *app.App) error {
	scope := tenancy.OperatorScope("op-kangning")
	by := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	units, _, err := a.Stations.Units(ctx, stations.UnitFilter{StationID: "jf-minzhu", State: stations.Available}, 0, 0)
	if err != nil {
		return err
	}
	// One unit of a different product for each renter where possible.
	var pick []stations.Unit
	seen := map[string]bool{}
	for _, u := range units {
		if !seen[u.ProductID] {
			seen[u.ProductID] = true
			pick = append(pick, u)
		}
	}
	img, err := media.DemoImage("transfer_aid", 999, "Income certificate")
	if err != nil {
		return err
	}
	proof, err := a.Media.SavePhoto(ctx, media.Private, bytes.NewReader(img))
	if err != nil {
		return err
	}
	proofKey := media.VariantKey(proof.Hash, proof.Variants[len(proof.Variants)-1].Width)
	today := time.Now().In(l10n.Local)
	for i, dr := range demoRenters {
		if i >= len(pick) {
			break
		}
		born := time.Date(today.Year()-dr.age, time.Month(1+i*2), 3+i*4, 0, 0, 0, 0, l10n.Local)
		r, err := a.Rentals.RegisterRenter(ctx, scope, rentals.Renter{Name: dr.name, Phone: fmt.Sprintf("139000001%02d", i),
			IDNumber: idNumber(born, 101+i), Age: dr.age, Address: "焦作市解放区民主南路", MobilityNeeds: "行走不便",
			EmergencyContact: rentals.Contact{Name: "家属", Phone: fmt.Sprintf("138000001%02d", i)},
			HomeStationID:    "jf-minzhu", HomeOperatorID: "op-kangning"}, by)
		if err != nil {
			return fmt.Errorf("demo renter %s: %w", dr.name, err)
		}
		if dr.proof != "" {
			_, err := a.Rentals.VerifyTier(ctx, scope, r.ID, rentals.TierProof{Tier: dr.tier, ProofType: dr.proof,
				ProofNumber: fmt.Sprintf("JZ%d-%04d", today.Year(), 300+i), ProofPhotoKey: proofKey,
				ExpiresOn: today.AddDate(1, 0, 0).Format(time.DateOnly)}, by)
			if err != nil {
				return fmt.Errorf("demo tier %s: %w", dr.name, err)
			}
		}
		u := pick[i]
		q, err := a.Rentals.QuoteFor(ctx, scope, rentals.QuoteRequest{RenterID: r.ID, ProductID: u.ProductID, Days: dr.days, Day: today})
		if err != nil {
			return err
		}
		pay := rentals.Payment{Method: rentals.PayCash, AmountFen: q.DueNowFen}
		if q.DueNowFen == 0 {
			pay.Method = rentals.PayWaived
		}
		if _, err := a.Rentals.Checkout(ctx, scope, rentals.CheckoutRequest{UnitTag: u.Tag, RenterID: r.ID, Days: dr.days,
			Payments: []rentals.Payment{pay}, TermsVersion: "2026-11", AcceptedName: dr.name, StationID: "jf-minzhu"}, by); err != nil {
			return fmt.Errorf("demo lease %s: %w", dr.name, err)
		}
	}
	return seedCorners(ctx, a, today)
}

// seedCorners gives the Jiaodong Road desk the corners of the money rules
// to show: a wheelchair declared lost six weeks ago (scan it to find it
// again), and one returned damaged today with more owed than its deposit
// covered, with a waiver above the staff limit waiting in the operator
// admin's queue. The first lease is made with the service's clock set back.
func seedCorners(ctx context.Context, a *app.App, today time.Time) error {
	scope := tenancy.OperatorScope("op-kangning")
	seed := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	staff := tenancy.Actor{ID: "seed-staff", Name: "张敏", Role: "staff"}
	units, _, err := a.Stations.Units(ctx, stations.UnitFilter{StationID: "jf-jiaodong", State: stations.Available}, 0, 0)
	if err != nil {
		return err
	}
	var wheelchairs []stations.Unit
	for _, u := range units {
		if u.ProductID == "wc-steel-standard" {
			wheelchairs = append(wheelchairs, u)
		}
	}
	if len(wheelchairs) < 2 {
		return nil // a scaled-down city: nothing to show
	}
	lend := func(i int, name string, days int) (rentals.Lease, error) {
		born := time.Date(today.Year()-75-i, time.Month(3+i), 9+i, 0, 0, 0, 0, l10n.Local)
		r, err := a.Rentals.RegisterRenter(ctx, scope, rentals.Renter{Name: name, Phone: fmt.Sprintf("139000002%02d", i),
			IDNumber: idNumber(born, 201+i), Age: 75 + i, Address: "焦作市解放区焦东北路", MobilityNeeds: "行走不便",
			EmergencyContact: rentals.Contact{Name: "家属", Phone: fmt.Sprintf("138000002%02d", i)},
			HomeStationID:    "jf-jiaodong", HomeOperatorID: "op-kangning"}, seed)
		if err != nil {
			return rentals.Lease{}, fmt.Errorf("demo renter %s: %w", name, err)
		}
		u := wheelchairs[i]
		q, err := a.Rentals.QuoteFor(ctx, scope, rentals.QuoteRequest{RenterID: r.ID, ProductID: u.ProductID, Days: days})
		if err != nil {
			return rentals.Lease{}, err
		}
		return a.Rentals.Checkout(ctx, scope, rentals.CheckoutRequest{UnitTag: u.Tag, RenterID: r.ID, Days: days,
			Payments: []rentals.Payment{{Method: rentals.PayCash, AmountFen: q.DueNowFen}}, TermsVersion: "2026-11",
			AcceptedName: name, StationID: "jf-jiaodong"}, seed)
	}
	defer a.Rentals.SetClock(func() time.Time { return time.Now().UTC() })
	a.Rentals.SetClock(func() time.Time { return today.AddDate(0, 0, -45).UTC() })
	lost, err := lend(0, "郑美华", 7)
	if err != nil {
		return err
	}
	a.Rentals.SetClock(func() time.Time { return time.Now().UTC() })
	if _, err := a.Rentals.DeclareLost(ctx, scope, lost.ID, seed); err != nil {
		return fmt.Errorf("demo loss: %w", err)
	}
	owing, err := lend(1, "冯志强", 7)
	if err != nil {
		return err
	}
	back, err := a.Rentals.Checkin(ctx, scope, rentals.CheckinRequest{UnitTag: owing.UnitTag, StationID: "jf-jiaodong",
		Outcome: rentals.OutcomeDamaged, DamageFen: owing.DepositFen + 12000, Notes: "扶手断裂，脚踏缺失"}, staff)
	if err != nil {
		return fmt.Errorf("demo check-in: %w", err)
	}
	_, _, err = a.Rentals.Waive(ctx, tenancy.StaffScope("op-kangning", []string{"jf-jiaodong"}), back.ID,
		rentals.WaiverRequest{AmountFen: 8000, Reason: "hardship", Note: "独居老人，收入困难"}, staff)
	return err
}

// seedFamily links the demo family account (王芳, 13800000005) to the parents
// she looks after, registered at the Minzhu Road desk: her father, with a
// verified low-income tier and a wheelchair out now, and her mother, who
// borrowed a walking frame at the standard price and brought it back.
func seedFamily(ctx context.Context, a *app.App) error {
	scope := tenancy.OperatorScope("op-kangning")
	by := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	uid, err := a.Auth.UserIDByPhone(ctx, "13800000005")
	if err != nil {
		return fmt.Errorf("demo family: %w", err)
	}
	today := time.Now().In(l10n.Local)
	parents := []struct {
		name     string
		age      int
		relation rentals.Relation
		tier     rentals.Tier
		product  string
		days     int
		returned bool
	}{
		{"王建国", 79, rentals.RelationFather, rentals.LowIncome, "wc-alu-light", 30, false},
		{"刘桂兰", 76, rentals.RelationMother, rentals.Standard, "walker-frame", 7, true},
	}
	for i, pr := range parents {
		born := time.Date(today.Year()-pr.age, time.Month(3+i*4), 8+i*7, 0, 0, 0, 0, l10n.Local)
		r, err := a.Rentals.RegisterRenter(ctx, scope, rentals.Renter{Name: pr.name, Phone: fmt.Sprintf("139000003%02d", i),
			IDNumber: idNumber(born, 301+i), Age: pr.age, Address: "焦作市解放区民主南路", MobilityNeeds: "行走不便",
			EmergencyContact: rentals.Contact{Name: "王芳", Phone: "13800000005"}, HomeStationID: "jf-minzhu", HomeOperatorID: "op-kangning"}, by)
		if err != nil {
			return fmt.Errorf("demo family %s: %w", pr.name, err)
		}
		if pr.tier != rentals.Standard {
			// The same certificate photo as the other demo renters' (stored
			// by its content, so once).
			img, err := media.DemoImage("transfer_aid", 999, "Income certificate")
			if err != nil {
				return err
			}
			proof, err := a.Media.SavePhoto(ctx, media.Private, bytes.NewReader(img))
			if err != nil {
				return err
			}
			_, err = a.Rentals.VerifyTier(ctx, scope, r.ID, rentals.TierProof{Tier: pr.tier, ProofType: rentals.ProofLowIncomeCertificate,
				ProofNumber: fmt.Sprintf("JZ%d-%04d", today.Year(), 400+i), ProofPhotoKey: media.VariantKey(proof.Hash, proof.Variants[len(proof.Variants)-1].Width),
				ExpiresOn: today.AddDate(1, 0, 0).Format(time.DateOnly)}, by)
			if err != nil {
				return fmt.Errorf("demo family tier %s: %w", pr.name, err)
			}
		}
		if _, err := a.Rentals.LinkUser(ctx, r.ID, uid, by); err != nil {
			return err
		}
		if err := a.Rentals.SetRelation(ctx, uid, r.ID, pr.relation); err != nil {
			return err
		}
		units, _, err := a.Stations.Units(ctx, stations.UnitFilter{StationID: "jf-minzhu", State: stations.Available}, 0, 0)
		if err != nil {
			return err
		}
		var tag string
		for _, u := range units {
			if u.ProductID == pr.product {
				tag = u.Tag
				break
			}
		}
		if tag == "" {
			continue
		}
		q, err := a.Rentals.QuoteFor(ctx, scope, rentals.QuoteRequest{RenterID: r.ID, ProductID: pr.product, Days: pr.days, Day: today})
		if err != nil {
			return err
		}
		pay := rentals.Payment{Method: rentals.PayCash, AmountFen: q.DueNowFen}
		if q.DueNowFen == 0 {
			pay.Method = rentals.PayWaived
		}
		if _, err := a.Rentals.Checkout(ctx, scope, rentals.CheckoutRequest{UnitTag: tag, RenterID: r.ID, Days: pr.days,
			Payments: []rentals.Payment{pay}, TermsVersion: "2026-11", AcceptedName: "王芳", StationID: "jf-minzhu"}, by); err != nil {
			return fmt.Errorf("demo family lease %s: %w", pr.name, err)
		}
		if pr.returned {
			if _, err := a.Rentals.Checkin(ctx, scope, rentals.CheckinRequest{UnitTag: tag, StationID: "jf-minzhu",
				Outcome: rentals.OutcomeOK, RefundMethod: rentals.PayCash}, by); err != nil {
				return fmt.Errorf("demo family return %s: %w", pr.name, err)
			}
		}
	}
	return nil
}

// lastMonthRenters are elders of Kangning's Shanyang, Zhongzhan and Jiaodong
// Road stations who borrowed a device last month with a verified tier, so
// the operator admin finds a statement to check and submit on first start.
var lastMonthRenters = []struct {
	name    string
	age     int
	station string
	tier    rentals.Tier
	proof   string
	day     int // the day of last month the lease began
	days    int
	extend  int // days added on the 20th (0: none)
}{
	{"陈淑芬", 83, "sy-renmin", rentals.Subsistence, rentals.ProofDibaoCard, 6, 60, 0},
	{"褚国强", 76, "sy-renmin", rentals.LowIncome, rentals.ProofLowIncomeCertificate, 9, 30, 30},
	{"卫秀兰", 86, "zz-fengfeng", rentals.Subsistence, rentals.ProofTekunCard, 13, 60, 0},
	{"蒋永福", 79, "jf-jiaodong", rentals.LowIncome, rentals.ProofLowIncomeCertificate, 15, 60, 0},
}

// seedLastMonth lends the devices of lastMonthRenters with the rentals
// clock set back to days of last month (the first weekday on or after each
// day, 10:00), and extends one on the 20th: last month's draft statement
// then has check-out and extension lines in three districts. Every lease
// runs past today, so none is overdue on first start.
func seedLastMonth(ctx context.Context, a *app.App, today time.Time) error {
	scope := tenancy.OperatorScope("op-kangning")
	seed := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	first := time.Date(today.Year(), today.Month(), 1, 10, 0, 0, 0, l10n.Local).AddDate(0, -1, 0)
	on := func(day int) time.Time {
		t := first.AddDate(0, 0, day-1)
		for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	defer a.Rentals.SetClock(func() time.Time { return time.Now().UTC() })
	used := map[string]bool{}
	var extend []struct {
		lease rentals.Lease
		days  int
	}
	for i, lr := range lastMonthRenters {
		at := on(lr.day)
		a.Rentals.SetClock(func() time.Time { return at.UTC() })
		units, _, err := a.Stations.Units(ctx, stations.UnitFilter{StationID: lr.station, State: stations.Available}, 0, 0)
		if err != nil {
			return err
		}
		var u *stations.Unit
		for j := range units {
			if !used[units[j].Tag] && units[j].ProductID != "bed-electric" {
				u = &units[j]
				break
			}
		}
		if u == nil {
			return nil // a scaled-down city: nothing to show
		}
		used[u.Tag] = true
		born := time.Date(today.Year()-lr.age, time.Month(2+i), 5+i*3, 0, 0, 0, 0, l10n.Local)
		r, err := a.Rentals.RegisterRenter(ctx, scope, rentals.Renter{Name: lr.name, Phone: fmt.Sprintf("139000004%02d", i),
			IDNumber: idNumber(born, 401+i), Age: lr.age, Address: "焦作市", MobilityNeeds: "行走不便",
			EmergencyContact: rentals.Contact{Name: "家属", Phone: fmt.Sprintf("138000004%02d", i)},
			HomeStationID:    lr.station, HomeOperatorID: "op-kangning"}, seed)
		if err != nil {
			return fmt.Errorf("demo renter %s: %w", lr.name, err)
		}
		if _, err := a.Rentals.VerifyTier(ctx, scope, r.ID, rentals.TierProof{Tier: lr.tier, ProofType: lr.proof,
			ProofNumber: fmt.Sprintf("JZ%d-%04d", at.Year(), 400+i), ProofPhotoKey: "proofs/demo/" + r.ID + ".jpg",
			ExpiresOn: at.AddDate(1, 0, 0).Format(time.DateOnly)}, seed); err != nil {
			return fmt.Errorf("demo tier %s: %w", lr.name, err)
		}
		q, err := a.Rentals.QuoteFor(ctx, scope, rentals.QuoteRequest{RenterID: r.ID, ProductID: u.ProductID, Days: lr.days})
		if err != nil {
			return err
		}
		l, err := a.Rentals.Checkout(ctx, scope, rentals.CheckoutRequest{UnitTag: u.Tag, RenterID: r.ID, Days: lr.days,
			Payments: demoPay(q.DueNowFen), TermsVersion: "2026-11", AcceptedName: lr.name, StationID: lr.station}, seed)
		if err != nil {
			return fmt.Errorf("demo lease %s: %w", lr.name, err)
		}
		if lr.extend > 0 {
			extend = append(extend, struct {
				lease rentals.Lease
				days  int
			}{l, lr.extend})
		}
	}
	at := on(20)
	a.Rentals.SetClock(func() time.Time { return at.UTC() })
	for _, e := range extend {
		q, err := a.Rentals.ExtensionQuote(ctx, scope, e.lease.ID, e.days)
		if err != nil {
			return err
		}
		if _, err := a.Rentals.Extend(ctx, scope, e.lease.ID, e.days, demoPay(q.DueNowFen), seed); err != nil {
			return fmt.Errorf("demo extension: %w", err)
		}
	}
	return nil
}

// demoPay is the desk's payment of fen in cash, or the waiver of nothing.
func demoPay(fen int64) []rentals.Payment {
	if fen == 0 {
		return []rentals.Payment{{Method: rentals.PayWaived}}
	}
	return []rentals.Payment{{Method: rentals.PayCash, AmountFen: fen}}
}
