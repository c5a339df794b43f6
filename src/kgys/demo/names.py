"""What the demo data is drawn from: the fictional provinces and districts, the words site, street and person
names are made of, camera names, and the shares of site types, roll-out stages and compliance failures."""

from __future__ import annotations

from kgys.sites.rollout import SiteType

COUNTRY = ("TR", "Türkiye")
PROVINCE = "TR-99"
OTHER_PROVINCE = "TR-98"
# code, name, latitude, longitude, share of the province's sites
PROVINCES: dict[str, tuple[str, float, float]] = {
    PROVINCE: ("Deneme İli", 39.90, 32.80),
    OTHER_PROVINCE: ("Örnek İli", 40.62, 33.62),
}
DISTRICTS: tuple[tuple[str, str, str, float, float, float], ...] = (
    ("TR-99-01", PROVINCE, "Merkez", 39.905, 32.805, 0.26),
    ("TR-99-02", PROVINCE, "Yenişehir", 39.985, 32.690, 0.16),
    ("TR-99-03", PROVINCE, "Sahilköy", 39.790, 32.955, 0.13),
    ("TR-99-04", PROVINCE, "Dağbaşı", 40.060, 32.930, 0.11),
    ("TR-99-05", PROVINCE, "Ovacık", 39.760, 32.620, 0.12),
    ("TR-99-06", PROVINCE, "Gölyaka", 39.860, 33.080, 0.10),
    ("TR-98-01", OTHER_PROVINCE, "Kuzeykent", 40.660, 33.600, 0.07),
    ("TR-98-02", OTHER_PROVINCE, "Güneyova", 40.560, 33.680, 0.05),
)
FIELD_UNIT_DISTRICT = "TR-99-01"

TYPE_WEIGHTS: dict[SiteType, int] = {
    SiteType.KINDERGARTEN: 14, SiteType.PRIMARY_SCHOOL: 24, SiteType.MIDDLE_SCHOOL: 20,
    SiteType.HIGH_SCHOOL: 17, SiteType.COLLEGE: 6, SiteType.MUNICIPAL_POINT: 13, SiteType.OTHER: 6,
}
STUDENTS: dict[SiteType, tuple[int, int]] = {
    SiteType.KINDERGARTEN: (35, 180), SiteType.PRIMARY_SCHOOL: (140, 900), SiteType.MIDDLE_SCHOOL: (180, 1000),
    SiteType.HIGH_SCHOOL: (250, 1500), SiteType.COLLEGE: (400, 3500),
}
STEMS = (
    "Atatürk", "Cumhuriyet", "İstiklal", "Gazi", "Mehmet Akif Ersoy", "Fatih", "Yunus Emre", "Mimar Sinan",
    "Barbaros", "Namık Kemal", "Ziya Gökalp", "Mevlana", "Kazım Karabekir", "Piri Reis", "Cahit Arf",
    "Aziz Sancar", "Fevzi Çakmak", "29 Ekim", "23 Nisan", "Zafer", "Kurtuluş", "Sakarya", "Dumlupınar",
    "Malazgirt", "İnönü", "Akşemsettin", "Ulubatlı Hasan", "Nene Hatun", "Halide Edip Adıvar",
    "Sabiha Gökçen", "Karacaoğlan", "Aşık Veysel", "Nasreddin Hoca", "Barış", "Bahçelievler", "Yıldız",
    "Yeşilyurt", "Çamlıca", "Pınarbaşı", "Hürriyet", "Şehitler", "Ertuğrul Gazi", "Osman Hamdi Bey",
    "Gazi Osman Paşa", "Necip Fazıl", "Cemil Meriç", "Âşık Seyrani", "Hacı Bayram", "Kanuni", "Orhan Veli",
)
KINDER_STEMS = ("Papatya", "Gökkuşağı", "Lale", "Menekşe", "Minik Eller", "Mavi Kuş", "Çiçek", "Ayçiçeği",
                "Kardelen", "Gelincik", "Serçe", "Neşeli Adımlar")
POINT_STEMS = ("Cumhuriyet", "Atatürk", "Hükümet", "Belediye", "Zafer", "İstasyon", "Çarşı", "Sahil",
               "Millet", "Gençlik", "Çınar", "Pazar")
POINT_KINDS = ("Meydanı", "Parkı", "Kavşağı", "Otogarı", "Köprüsü", "Caddesi Girişi", "Pazar Yeri")
OTHER_KINDS = ("Gençlik Merkezi", "Spor Salonu", "Halk Kütüphanesi", "Kültür Merkezi", "Halk Eğitim Merkezi",
               "Rehberlik ve Araştırma Merkezi")
HIGH_KINDS = ("Anadolu Lisesi", "Anadolu Lisesi", "Mesleki ve Teknik Anadolu Lisesi", "Fen Lisesi",
              "Anadolu İmam Hatip Lisesi", "Sosyal Bilimler Lisesi")
STREETS = ("Gül", "Lale", "Çınar", "Okul", "Ihlamur", "Atatürk", "İnönü", "Menekşe", "Karanfil", "Söğüt",
           "Çamlık", "Pınar", "Bağlar", "Yavuz Selim", "Kardelen", "Zambak")
NEIGHBOURHOODS = ("Cumhuriyet", "Yeni", "Fatih", "Hürriyet", "Bahçelievler", "Esentepe", "Kocatepe",
                  "Yıldıztepe", "Sağlık", "İstasyon", "Kale", "Çamlıbel", "Gazi", "Yunus Emre")
FIRST_NAMES = ("Ahmet", "Mehmet", "Ayşe", "Fatma", "Mustafa", "Zeynep", "Emine", "Ali", "Hüseyin", "Elif",
               "Hasan", "Merve", "İbrahim", "Hatice", "Murat", "Selin", "Kemal", "Gülşen", "Osman", "Derya")
LAST_NAMES = ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın",
              "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan", "Polat")
NOTES: dict[str, str] = {
    "planned": "Keşif yapıldı, ihtiyaç listesi hazırlandı.",
    "tendered": "İhale ilanı yayımlandı.",
    "contracted": "Sözleşme imzalandı.",
    "installed": "Kurulum tamamlandı.",
    "integrated": "Emniyet izleme merkezine bağlantı kuruldu.",
    "verified": "Komisyon yerinde denetledi; asgari şartlar sağlanıyor.",
}
STATUS_WEIGHTS = (17, 14, 11, 12, 14, 12, 20)  # none … verified
# camera name, position; the first two cover the front
CAMERA_SLOTS = (
    ("Ana Giriş", "entrance"), ("Cadde Önü", "street_front"), ("Bahçe", "yard"), ("Çevre Kuzey", "perimeter"),
    ("Çevre Güney", "perimeter"), ("Koridor Zemin Kat", "corridor"), ("Koridor 1. Kat", "corridor"),
    ("Otopark", "parking"), ("Arka Bahçe", "yard"), ("Spor Salonu", "other"), ("Yan Giriş", "entrance"),
    ("Kantin", "other"),
)
FAILURES = ("camera_1mp", "nvr_8_channels", "no_remote_viewing", "short_storage", "no_front_coverage",
            "no_night_vision", "no_poe", "short_retention")
