package catalog

// EverydayWords are what people call the devices of each category, in
// Chinese and English: a search for any of them finds every product of the
// category. One word may name several categories (轮椅 is every kind of
// wheelchair, 助行器 both walking frames and rollators, 拐杖 canes and
// crutches). Words are lower case; a product's own name and keywords are
// searched as well.
var EverydayWords = map[string][]string{
	"manual_wheelchair": {"轮椅", "手动轮椅", "普通轮椅", "手推轮椅",
		"wheelchair", "manual wheelchair"},
	"transport_wheelchair": {"轮椅", "护理轮椅", "小轮轮椅", "推行轮椅", "护理型轮椅",
		"wheelchair", "transport wheelchair", "transport chair", "attendant wheelchair"},
	"electric_wheelchair": {"轮椅", "电动轮椅", "电轮椅", "智能轮椅",
		"wheelchair", "electric wheelchair", "power wheelchair", "power chair"},
	"walker": {"助行器", "助行架", "步行器", "助步器", "学步车", "助走器",
		"walker", "walking frame", "zimmer frame"},
	"rollator": {"助行器", "带轮助行器", "助行车", "四轮助行器", "助步车", "买菜车",
		"rollator", "wheeled walker"},
	"cane": {"拐杖", "手杖", "拐棍", "拐棒",
		"cane", "walking stick", "stick", "quad cane"},
	"crutches": {"拐杖", "腋拐", "腋下拐", "腋下拐杖", "双拐", "肘拐",
		"crutch", "crutches"},
	"shower_chair": {"洗澡椅", "沐浴椅", "淋浴椅", "洗澡凳", "浴凳", "浴椅", "洗浴椅",
		"shower chair", "bath chair", "bath seat", "shower stool"},
	"commode_chair": {"坐便椅", "马桶椅", "坐便器", "座便椅", "移动马桶", "便椅", "坐厕椅",
		"commode", "commode chair", "toilet chair"},
	"hospital_bed": {"护理床", "病床", "医疗床", "家用护理床", "瘫痪床",
		"hospital bed", "nursing bed", "care bed"},
	"pressure_mattress": {"防褥疮床垫", "气垫床", "防褥疮", "褥疮垫", "气垫", "充气床垫",
		"pressure mattress", "air mattress", "anti-decubitus mattress"},
	"transfer_aid": {"移位器", "移位带", "移位腰带", "转移带", "移位机", "移位辅具",
		"transfer aid", "transfer belt", "gait belt", "hoist"},
}

// fillers are words people add around a device's name that narrow nothing
// ("老人用的轮椅" is a wheelchair): a term made of vocabulary words and
// fillers is searched as its words.
var fillers = []string{"老人用的", "老年人", "老人", "老年", "家用", "用的", "的", "用", "给", "借", "租", "一个", "一台", "个", "台"}
