"""The columns of each kind of import file, the names they go by, and the words their cells use.

Column and word names are compared in their *folded* form (``fold``): lower case, Turkish letters and
accents as plain ASCII, every run of spaces and punctuation as one ``_`` — so ``Kurum Kodu``, ``KURUM_KODU``,
``kurum-kodu`` and ``Kurum kodu`` are one column, and ``İLÇE``, ``ilce``, ``Ilçe`` and ``ılçe`` another.
The Turkish names are those of the school lists the Ministry of National Education's systems (MEBBİS,
e-Okul) and provincial directorates export: ``Kurum Kodu``, ``Kurum Adı``, ``İl Adı``, ``İlçe Adı``,
``Kurum Türü``, ``Açık Adres``, ``Enlem``, ``Boylam``, ``Telefon``, ``Kurum E-Posta`` …
"""

from __future__ import annotations

import re
import unicodedata

COLUMNS: dict[str, tuple[str, ...]] = {
    "sites": ("code", "name", "type", "province", "district", "address", "latitude", "longitude",
              "student_count", "priority", "contact_name", "contact_phone", "contact_email", "rollout_status",
              "rollout_date"),
    "recorders": ("site_code", "name", "vendor", "model", "channels", "supported_storage_tb",
                  "installed_storage_tb", "remote_viewing", "continuous_recording", "retention_days", "host"),
    "cameras": ("site_code", "name", "recorder", "megapixels", "width", "height", "poe", "night_vision",
                "position", "bitrate_kbps", "codec", "stream_url"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "sites": ("code", "name", "type", "district"),
    "recorders": ("site_code", "name", "channels", "supported_storage_tb", "installed_storage_tb"),
    "cameras": ("site_code", "name", "megapixels", "width", "height"),
}
KEYS: dict[str, tuple[str, ...]] = {"sites": ("code",), "recorders": ("site_code", "name"),
                                    "cameras": ("site_code", "name")}

_SITE_CODE = ("site_code", "site", "kurum_kodu", "okul_kodu", "kurum", "tesis_kodu")
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "sites": {
        "code": ("kod", "kodu", "kurum_kodu", "okul_kodu", "institution_code", "tesis_kodu", "kurum_no",
                 "okul_no", "mebbis_kodu", "mebbis_kurum_kodu", "kurum_kod"),
        "name": ("ad", "adi", "isim", "kurum_adi", "okul_adi", "tesis_adi", "kurum", "okul", "kurum_ismi",
                 "okul_ismi", "kurum_unvani"),
        "type": ("tur", "turu", "tip", "tipi", "kurum_turu", "okul_turu", "site_type", "kurum_tipi", "okul_tipi",
                 "kurum_tur", "okul_tur", "kademe", "egitim_kademesi", "okul_kademesi"),
        "province": ("il", "sehir", "il_kodu", "il_adi", "ili", "plaka", "plaka_kodu", "province_name"),
        "district": ("ilce", "ilce_kodu", "ilce_adi", "ilcesi", "district_name"),
        "address": ("adres", "acik_adres", "kurum_adresi", "okul_adresi", "adresi", "adres_bilgisi"),
        "latitude": ("lat", "enlem", "enlem_y", "y", "koordinat_enlem", "gps_enlem", "enlem_derece"),
        "longitude": ("lon", "lng", "long", "boylam", "boylam_x", "x", "koordinat_boylam", "gps_boylam",
                      "boylam_derece"),
        "student_count": ("students", "ogrenci_sayisi", "ogrenci", "toplam_ogrenci", "toplam_ogrenci_sayisi",
                          "ogrenci_mevcudu", "mevcut"),
        "priority": ("oncelik", "oncelik_sirasi"),
        "contact_name": ("contact", "yetkili", "yetkili_adi", "sorumlu", "irtibat", "mudur", "mudur_adi",
                         "okul_muduru", "kurum_muduru", "mudur_adi_soyadi", "yetkili_adi_soyadi", "irtibat_kisisi"),
        "contact_phone": ("phone", "telefon", "tel", "yetkili_telefon", "gsm", "telefon_no", "kurum_telefonu",
                          "okul_telefonu", "telefon_numarasi", "tel_no", "irtibat_telefonu"),
        "contact_email": ("email", "e_mail", "eposta", "e_posta", "mail", "yetkili_eposta", "kurum_e_posta",
                          "kurum_eposta", "e_posta_adresi", "eposta_adresi", "okul_e_posta"),
        "rollout_status": ("rollout", "status", "durum", "kurulum_durumu", "proje_durumu", "kamera_durumu"),
        "rollout_date": ("durum_tarihi", "asama_tarihi", "kurulum_tarihi", "rollout_since", "status_date"),
    },
    "recorders": {
        "site_code": _SITE_CODE,
        "name": ("ad", "adi", "isim", "cihaz_adi", "kayit_cihazi", "nvr", "recorder"),
        "vendor": ("marka", "uretici", "brand", "manufacturer"),
        "model": ("modeli",),
        "channels": ("kanal", "kanal_sayisi", "channel_count"),
        "supported_storage_tb": ("desteklenen_depolama_tb", "desteklenen_kapasite_tb", "azami_depolama_tb",
                                 "max_storage_tb"),
        "installed_storage_tb": ("takili_depolama_tb", "kurulu_depolama_tb", "mevcut_depolama_tb", "disk_tb",
                                 "storage_tb"),
        "remote_viewing": ("uzaktan_izleme", "internetten_izleme", "internet_izleme"),
        "continuous_recording": ("surekli_kayit", "7_24_kayit", "kesintisiz_kayit"),
        "retention_days": ("saklama_suresi", "saklama_gun", "saklama_suresi_gun", "retention"),
        "host": ("ip", "ip_adresi", "adres", "address"),
    },
    "cameras": {
        "site_code": _SITE_CODE,
        "name": ("ad", "adi", "isim", "kamera_adi", "camera"),
        "recorder": ("kayit_cihazi", "nvr", "recorder_name"),
        "megapixels": ("mp", "megapiksel", "megapixel"),
        "width": ("genislik",),
        "height": ("yukseklik",),
        "poe": (),
        "night_vision": ("gece_gorusu", "ir", "infrared", "kizilotesi"),
        "position": ("konum", "yer", "location"),
        "bitrate_kbps": ("bitrate", "bit_hizi", "bit_hizi_kbps"),
        "codec": ("kodek", "sikistirma"),
        "stream_url": ("url", "rtsp", "rtsp_url", "yayin_adresi", "akis_adresi"),
    },
}

BOOL_FIELDS = frozenset({"remote_viewing", "continuous_recording", "poe", "night_vision"})
DATE_FIELDS = frozenset({"rollout_date"})
DECIMAL_FIELDS = frozenset({"latitude", "longitude", "supported_storage_tb", "installed_storage_tb", "megapixels"})
INT_FIELDS = frozenset({"student_count", "priority", "channels", "retention_days", "width", "height",
                        "bitrate_kbps"})

TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "evet", "e", "var", "on", "x"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "hayir", "h", "yok", "off"})

SITE_TYPES: dict[str, str] = {
    "kindergarten": "kindergarten", "anaokulu": "kindergarten", "ana_okulu": "kindergarten",
    "anasinifi": "kindergarten", "kres": "kindergarten", "okul_oncesi": "kindergarten",
    "primary_school": "primary_school", "ilkokul": "primary_school", "ilk_okul": "primary_school",
    "ilkogretim": "primary_school",
    "middle_school": "middle_school", "ortaokul": "middle_school", "orta_okul": "middle_school",
    "imam_hatip_ortaokulu": "middle_school",
    "high_school": "high_school", "lise": "high_school",
    "college": "college", "kolej": "college", "meslek_yuksekokulu": "college", "myo": "college",
    "universite": "college",
    "municipal_point": "municipal_point", "kent_noktasi": "municipal_point", "belediye": "municipal_point",
    "belediye_noktasi": "municipal_point", "mobese": "municipal_point", "cadde": "municipal_point",
    "other": "other", "diger": "other",
}
ROLLOUT: dict[str, str] = {
    "none": "none", "yok": "none", "baslanmadi": "none", "hic": "none",
    "planned": "planned", "planlandi": "planned", "planli": "planned", "planlanan": "planned",
    "tendered": "tendered", "ihale": "tendered", "ihalede": "tendered", "ihale_edildi": "tendered",
    "ihaleye_cikildi": "tendered",
    "contracted": "contracted", "sozlesme": "contracted", "sozlesmeli": "contracted",
    "sozlesme_imzalandi": "contracted",
    "installed": "installed", "kuruldu": "installed", "kurulum_tamam": "installed", "kurulu": "installed",
    "integrated": "integrated", "entegre": "integrated", "entegre_edildi": "integrated", "baglandi": "integrated",
    "verified": "verified", "dogrulandi": "verified", "onaylandi": "verified", "kabul_edildi": "verified",
}
POSITIONS: dict[str, str] = {
    "entrance": "entrance", "giris": "entrance", "kapi": "entrance", "okul_girisi": "entrance",
    "street_front": "street_front", "on_cephe": "street_front", "cadde_cephesi": "street_front",
    "sokak": "street_front", "cadde": "street_front",
    "perimeter": "perimeter", "cevre": "perimeter", "cevre_guvenligi": "perimeter",
    "yard": "yard", "bahce": "yard", "avlu": "yard",
    "corridor": "corridor", "koridor": "corridor",
    "parking": "parking", "otopark": "parking",
    "other": "other", "diger": "other",
}
_FOLD = str.maketrans({"ı": "i", "İ": "i", "I": "i", "ß": "ss"})


def fold(text: str) -> str:
    """``text`` lower-cased, without accents or Turkish letters, words joined by ``_``."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD).lower().translate(_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")

