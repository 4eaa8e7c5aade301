from leadline.core.text import normalize_text


def test_digits_of_every_script_become_ascii():
    assert normalize_text("\u096f\u096e\u0967") == "981"  # Devanagari
    assert normalize_text("\uff19\uff18\uff11") == "981"  # full width
    assert normalize_text("\U0001d7d7\u09ef\u0be7") == "991"  # mathematical, Bengali, Tamil


def test_invisible_formatting_characters_are_dropped():
    hidden = "9\u200b8\u200c7\u200d6\ufeff5\u00ad4\u20603\u31642"
    assert normalize_text(hidden) == "98765432"


def test_compatibility_forms_are_folded_and_plain_text_is_untouched():
    assert normalize_text("\uff0b\uff19\uff11\u2013\uff3f") == "+91\u2013_"
    assert normalize_text("Meera Iyer, Pune") == "Meera Iyer, Pune"
    assert normalize_text("\u092e\u0940\u0930\u093e") == "\u092e\u0940\u0930\u093e"
