"""The lexical index across scripts: accents folded, Chinese segmented, kana paired, English as before."""

from engine import lexical


def test_accents_and_case_fold_so_a_name_matches_however_it_is_typed():
    assert lexical.tokens("Lucía Müller, Straße") == lexical.tokens("lucia MULLER strasse")
    assert "helene" in lexical.tokens("Hélène")


def test_english_tokens_are_unchanged():
    assert lexical.tokens("Room 4471, $650,000 and B12 goggles required") == [
        "room", "4471", "650,000", "650", "000", "b12", "goggl", "requir"]


def test_chinese_is_segmented_into_words_that_a_question_shares():
    said = set(lexical.tokens("我们的会议在三楼五零八会议室举行"))
    asked = lexical.tokens("会议室在几楼？")
    assert "会议室" in said and "会议" in said
    assert "会议室" in asked and not {"的", "在", "几"} & set(asked)  # function words dropped


def test_japanese_kana_keep_their_voicing_marks_and_pair_up():
    toks = lexical.tokens("会議室は3階です")
    assert "です" in toks and "3" in toks  # NFKD folding would have turned で into て


def test_foreign_function_words_are_not_terms_but_english_content_words_stay():
    assert lexical.tokens("¿Cuál es el objetivo de ventas?") == ["objetivo", "venta"]
    assert "die" in lexical.tokens("Do not let the battery die")  # German article, English verb


def test_sparse_vectors_meet_across_accents():
    doc = lexical.doc_vector("Reunión con Lucía a las nueve")
    query = lexical.query_vector("reunion lucia")
    assert set(query.indices) <= set(doc.indices)


def test_traditional_and_spaced_chinese_meet_the_simplified_question():
    heard = set(lexical.tokens("我們 公 司 下 個 月 要 搬 到 新 的 辦 公 室"))  # Whisper: Traditional, spaced
    assert {"公司", "办公室"} <= heard
    assert set(lexical.tokens("公司的新办公室在哪里？")) <= heard
