"""infotext.py - the reference for lib/infotext.c: AUTOMATIC1111's
parse_generation_parameters (modules/infotext_utils.py) with its default
settings (infotext_styles "Apply if any" and no styles, no
infotext_skip_pasting, use_old_hires_fix_width_height off, no Version
back-compatibility), written from its source with Python's re, so that
the C parser is checked against the same regular expressions A1111 runs.

    python3 tools/reference/infotext.py < text     prints the JSON dict
"""

import json
import math
import re
import sys

re_param_code = r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'
re_param = re.compile(re_param_code)
re_imagesize = re.compile(r"^(\d+)x(\d+)$")


def unquote(text):
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except Exception:
        return text


def old_hires_fix_first_pass_dimensions(width, height):
    desired_pixel_count = 512 * 512
    actual_pixel_count = width * height
    scale = math.sqrt(desired_pixel_count / actual_pixel_count)
    width = math.ceil(scale * width / 64) * 64
    height = math.ceil(scale * height / 64) * 64
    return width, height


def restore_old_hires_fix_params(res):
    firstpass_width = res.get('First pass size-1', None)
    firstpass_height = res.get('First pass size-2', None)
    if firstpass_width is None or firstpass_height is None:
        return
    firstpass_width, firstpass_height = int(firstpass_width), \
        int(firstpass_height)
    width = int(res.get("Size-1", 512))
    height = int(res.get("Size-2", 512))
    if firstpass_width == 0 or firstpass_height == 0:
        firstpass_width, firstpass_height = \
            old_hires_fix_first_pass_dimensions(width, height)
    res['Size-1'] = firstpass_width
    res['Size-2'] = firstpass_height
    res['Hires resize-1'] = width
    res['Hires resize-2'] = height


def parse_generation_parameters(x):
    res = {}
    prompt = ""
    negative_prompt = ""
    done_with_prompt = False
    *lines, lastline = x.strip().split("\n")
    if len(re_param.findall(lastline)) < 3:
        lines.append(lastline)
        lastline = ''
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done_with_prompt = True
            line = line[16:].strip()
        if done_with_prompt:
            negative_prompt += ("" if negative_prompt == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    res["Prompt"] = prompt
    res["Negative prompt"] = negative_prompt
    for k, v in re_param.findall(lastline):
        try:
            if v[0] == '"' and v[-1] == '"':
                v = unquote(v)
            m = re_imagesize.match(v)
            if m is not None:
                res[f"{k}-1"] = m.group(1)
                res[f"{k}-2"] = m.group(2)
            else:
                res[k] = v
        except Exception:
            pass
    if "Clip skip" not in res:
        res["Clip skip"] = "1"
    hypernet = res.get("Hypernet", None)
    if hypernet is not None:
        res["Prompt"] += f"""<hypernet:{hypernet}:{res.get("Hypernet strength", "1.0")}>"""
    if "Hires resize-1" not in res:
        res["Hires resize-1"] = 0
        res["Hires resize-2"] = 0
    if "Hires sampler" not in res:
        res["Hires sampler"] = "Use same sampler"
    if "Hires checkpoint" not in res:
        res["Hires checkpoint"] = "Use same checkpoint"
    if "Hires prompt" not in res:
        res["Hires prompt"] = ""
    if "Hires negative prompt" not in res:
        res["Hires negative prompt"] = ""
    if "Mask mode" not in res:
        res["Mask mode"] = "Inpaint masked"
    if "Masked content" not in res:
        res["Masked content"] = 'original'
    if "Inpaint area" not in res:
        res["Inpaint area"] = "Whole picture"
    if "Masked area padding" not in res:
        res["Masked area padding"] = 32
    restore_old_hires_fix_params(res)
    if "RNG" not in res:
        res["RNG"] = "GPU"
    if "Schedule type" not in res:
        res["Schedule type"] = "Automatic"
    if "Schedule max sigma" not in res:
        res["Schedule max sigma"] = 0
    if "Schedule min sigma" not in res:
        res["Schedule min sigma"] = 0
    if "Schedule rho" not in res:
        res["Schedule rho"] = 0
    if "VAE Encoder" not in res:
        res["VAE Encoder"] = "Full"
    if "VAE Decoder" not in res:
        res["VAE Decoder"] = "Full"
    if "FP8 weight" not in res:
        res["FP8 weight"] = "Disable"
    if "Cache FP16 weight for LoRA" not in res and \
            res["FP8 weight"] != "Disable":
        res["Cache FP16 weight for LoRA"] = False
    return res


def quote(text):
    """A1111's infotext_utils.quote: how create_infotext writes a value."""
    if ',' not in str(text) and '\n' not in str(text) and \
            ':' not in str(text):
        return text
    return json.dumps(text, ensure_ascii=False)


if __name__ == "__main__":
    print(json.dumps(parse_generation_parameters(sys.stdin.read()),
                     ensure_ascii=False))
