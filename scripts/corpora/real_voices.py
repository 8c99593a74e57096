#!/usr/bin/env python3
"""A corpus of real human voices: each recording of `shared/corpus/real` (French, Spanish, English; see its
README for sources and licences, kept with every use) placed in a video over a plain background, with
questions in the recording's language and in English, and unanswerable ones.

    python scripts/corpora/real_voices.py OUT_DIR [--real ../shared/corpus/real]

Synthetic voices mislead (espeak's Spanish is far harder than a person, festival's English far easier): speech
and language work is checked on these too. The questions were written from the scripts the speakers were
given (the README's "what is said"); accepted answers are the words any faithful answer contains, in
either language. Needs ffmpeg.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import wave
from pathlib import Path

# (file, language, [(question, accepted answers)]) - each question answered by its recording; for the French
# and Spanish recordings each question in the recording's language is followed by the same in English.
QUESTIONS = [
    ("fr_demo_congrats.wav", "fr", [
        ("Quel projet libre avez-vous installé et exécuté ?", ["Asterisk"]),
        ("Which free software project was installed and run?", ["Asterisk"]),
        ("Comment navigue-t-on dans cette démonstration ?", ["chiffre"]),
        ("How do you navigate this demonstration?", ["digit", "number", "chiffre", "key"])]),
    ("fr_demo_echotest.wav", "fr", [
        ("Comment peut-on quitter le test d'écho ?", ["raccroch", "dièse"]),
        ("How can you leave the echo test?", ["hang", "pound", "hash", "dièse", "raccroch"])]),
    ("fr_conf_adminmenu.wav", "fr", [
        ("Quelle touche faut-il taper pour sortir ?", ["5", "cinq"]),
        ("Which key do you press to leave?", ["5", "five", "cinq"]),
        ("Quelle touche verrouille la conférence ?", ["2", "deux"]),
        ("Which key locks the conference?", ["2", "two", "deux"])]),
    ("es_demo_congrats.wav", "es", [
        ("¿Qué PBX de código abierto se ha instalado?", ["Asterisk"]),
        ("Which open source PBX was installed?", ["Asterisk"]),
        ("¿Cómo se navega esta demostración?", ["dígito", "digito", "teclea"]),
        ("How do you navigate this demonstration?", ["digit", "dígito", "typing", "key"])]),
    ("es_demo_echotest.wav", "es", [
        ("¿Cómo se termina la prueba de eco?", ["cuelg", "número", "numero"]),
        ("How do you end the echo test?", ["hang", "number", "pound", "cuelg"])]),
    ("es_conf_usermenu.wav", "es", [
        ("¿Qué tecla hay que presionar para salir de la conferencia?", ["8", "ocho"]),
        ("Which key do you press to leave the conference?", ["8", "eight", "ocho"])]),
    ("en_jfk.wav", "en", [("What should you ask, according to the speaker?", ["what you can do for your country"])]),
    ("en_goforward.wav", "en", [("How far should you go forward?", ["10", "ten"])]),
]
UNANSWERABLE = [("¿Cuál es el número de teléfono del soporte técnico?", "es"),
                ("Quel est le prix de l'abonnement mensuel ?", "fr"),
                ("What is the name of the support manager?", "en")]
COLOURS = ["0x2b3a55", "0x3a552b", "0x552b3a", "0x4a4a20", "0x204a4a", "0x4a204a", "0x303030", "0x203050"]


def seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--real", default=str(Path(__file__).resolve().parents[3] / "shared" / "corpus" / "real"))
    args = ap.parse_args()
    real, out = Path(args.real), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    videos, questions = [], []
    for i, (wav, lang, qs) in enumerate(QUESTIONS):
        src = real / wav
        dur = round(seconds(src) + 1.0, 3)
        name = src.stem + ".mp4"
        subprocess.run(["ffmpeg", "-y", "-f", "lavfi", "-t", f"{dur:.3f}",
                        "-i", f"color=c={COLOURS[i % 8]}:s=640x360:r=25",
                        "-i", str(src), "-af", "apad,aresample=16000", "-ac", "1", "-t", f"{dur:.3f}",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-c:a", "aac", "-b:a", "64k",
                        str(out / name)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scene = f"{src.stem}-0"
        videos.append({"file": name, "language": lang, "metadata": {"language": lang, "source": wav},
                       "duration": dur, "scenes": [{"scene": scene, "start": 0.0, "end": dur}]})
        for k, (q, answers) in enumerate(qs):
            asked_in = lang if lang == "en" or k % 2 == 0 else "en"  # each fact asked in its language, then in English
            item = {"q": q, "scene": scene, "any": answers, "mode": "speech", "lang": asked_in}
            if asked_in != lang:  # the French and Spanish prompts say the same things: the language picks the video
                item["filter"] = {"metadata": [{"path": "language", "operator": "Equal", "valueText": lang}]}
            questions.append(item)
    questions += [{"q": q, "scene": None, "any": [], "mode": "none", "lang": lang} for q, lang in UNANSWERABLE]
    (out / "truth.json").write_text(json.dumps({"videos": videos, "questions": questions, "style": "real voices"},
                                               indent=1))
    print(f"{len(videos)} videos, {sum(v['duration'] for v in videos):.0f} s, {len(questions)} questions in {out}")


if __name__ == "__main__":
    main()
