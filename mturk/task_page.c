/*
 * mturk/task_page.c - the worker task page, an HTMLQuestion (spec sections
 * 5 and 7).
 *
 * One self-contained page: inline CSS and JavaScript, no third-party
 * script, font or CDN (MTurk runs it in a sandboxed iframe, and lab mode
 * must work offline).  It shows the stage image, lets the worker draw boxes
 * by dragging (pointer events: mouse, pen and touch alike), select, move,
 * resize and remove them, "Add box" and "Remove box", asks the face
 * question, takes feedback, and posts to turkSubmitTo +
 * /mturk/externalSubmit the fields boxes (JSON [[x,y,w,h],...]),
 * face_found (yes|no), feedback and assignmentId, and with the slider on,
 * confidence.  Boxes live in full-image pixel coordinates; the display
 * scale only applies when they are drawn, so a phone and a desktop give
 * the same numbers.  In preview (assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE)
 * the image shows but Submit is disabled with "Accept the HIT to start".
 *
 * Every box is also a keyboard control: Tab reaches it, the arrow keys
 * move it, Shift + arrows resize it, Delete removes it, and the focused
 * box has a visible outline.  The resize handle is 44 CSS pixels square
 * (a finger's size) around a smaller visible dot.
 *
 * Values from outside (the image URL, the experiment's texts) are
 * HTML-escaped and never pasted into script; the script reads the URL
 * from data- attributes.  Since the HTML sits in a CDATA section,
 * escaping '>' also rules out a "]]>" that would end it.  The whole
 * Question is checked against MTurk's 65,535-byte limit before anyone
 * sends it.
 */
#include "mturk/mturk.h"

#include <string.h>

#define HTMLQUESTION_NS                                                     \
	"http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/" \
	"2011-11-11/HTMLQuestion.xsd"

static const char page_style[] =
	"<meta name=\"viewport\" content=\"width=device-width, "
	"initial-scale=1\">\n<style>\n"
	"body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:12px;"
	"color:#222;background:#fafafa}\n"
	"h1{font-size:1.2em;margin:0 0 .4em}\n"
	".inst{max-width:60em}\n"
	"#wrap{position:relative;display:inline-block;max-width:100%;"
	"touch-action:none;user-select:none;-webkit-user-select:none;"
	"cursor:crosshair;border:1px solid #888;line-height:0;"
	"margin:22px 22px 22px 0}\n"
	"#img{max-width:100%;height:auto;display:block;pointer-events:none}\n"
	".box{position:absolute;border:2px solid #e00;background:"
	"rgba(255,0,0,.12);box-sizing:border-box;cursor:move}\n"
	".box.sel{border-color:#06f;background:rgba(0,102,255,.15)}\n"
	".box:focus{outline:3px solid #111;outline-offset:2px;"
	"box-shadow:0 0 0 2px #fff}\n"
	".box .h{position:absolute;right:-22px;bottom:-22px;width:44px;"
	"height:44px;cursor:nwse-resize;display:none}\n"
	".box .h::after{content:'';position:absolute;left:12px;top:12px;"
	"width:20px;height:20px;border-radius:10px;background:#06f;"
	"border:2px solid #fff;box-sizing:border-box}\n"
	".box.sel .h{display:block}\n"
	".box .c{position:absolute;left:0;top:0;font:12px/1.2 sans-serif;"
	"background:#fff;color:#000;padding:0 2px}\n"
	".bar{margin:.6em 0}\nbutton,input[type=submit]{font:inherit;"
	"padding:.4em 1em;margin-right:.5em;min-height:44px}\n"
	"#conf{width:14em;max-width:100%;vertical-align:middle}\n"
	"fieldset{border:1px solid #bbb;margin:.6em 0;max-width:40em}\n"
	"fieldset label{display:inline-block;padding:.5em 1em .5em 0}\n"
	"textarea{width:100%;max-width:40em;box-sizing:border-box}\n"
	"#msg{color:#b00;font-weight:bold;min-height:1.4em}\n"
	"</style></head><body>\n";

/* The page's behaviour; reads nothing from outside but data- attributes. */
static const char page_script[] =
	"(function(){\n"
	"'use strict';\n"
	"function byId(i){return document.getElementById(i);}\n"
	"var W=0,H=0,boxes=[],sel=-1,drag=null;\n"
	"var wrap=byId('wrap'),img=byId('img'),form=byId('mturk_form'),\n"
	"msg=byId('msg'),btn=byId('submitButton'),conf=byId('conf'),\n"
	"confv=byId('confv');\n"
	"W=parseInt(wrap.getAttribute('data-w'),10)||0;\n"
	"H=parseInt(wrap.getAttribute('data-h'),10)||0;\n"
	"function param(n){var m=new RegExp('[?&]'+n+'=([^&#]*)')\n"
	".exec(location.search);if(!m)return '';\n"
	"try{return decodeURIComponent(m[1].replace(/\\+/g,' '));}\n"
	"catch(e){return '';}}\n"
	"var aid=param('assignmentId');\n"
	"var preview=(aid===''||aid==='ASSIGNMENT_ID_NOT_AVAILABLE');\n"
	"byId('assignmentId').value=aid;\n"
	"var to=param('turkSubmitTo');\n"
	"if(!/^https?:\\/\\/[^\\s]+$/.test(to))to='https://www.mturk.com';\n"
	"form.action=to.replace(/\\/+$/,'')+'/mturk/externalSubmit';\n"
	"if(preview){btn.disabled=true;btn.value='Accept the HIT to start';\n"
	"msg.textContent='Preview: accept the HIT to start.';}\n"
	"function size(){if(!W||!H){W=img.naturalWidth;H=img.naturalHeight;}}"
	"\n"
	"function scale(){size();return W?img.clientWidth/W:1;}\n"
	"function clip(b){var x0=Math.max(0,Math.min(W,b.x)),\n"
	"y0=Math.max(0,Math.min(H,b.y)),x1=Math.max(0,Math.min(W,b.x+b.w)),\n"
	"y1=Math.max(0,Math.min(H,b.y+b.h));\n"
	"return{x:Math.min(x0,x1),y:Math.min(y0,y1),w:Math.abs(x1-x0),\n"
	"h:Math.abs(y1-y0),c:b.c};}\n"
	"function known(c){return c!==undefined&&c!==null;}\n"
	"function syncConf(){if(!conf)return;var b=sel>=0?boxes[sel]:null;\n"
	"conf.disabled=!b;conf.value=b&&known(b.c)?b.c:50;\n"
	"confv.textContent=!b?'select a box':known(b.c)?b.c+'%':'not set';}\n"
	"function boxEl(i){return wrap.querySelector('.box[data-i=\"'+i+'\"]')"
	";}\n"
	"function draw(){var s=scale(),old=wrap.querySelectorAll('.box'),\n"
	"a=document.activeElement,had=!!(a&&a.parentNode===wrap);\n"
	"for(var i=0;i<old.length;i++)wrap.removeChild(old[i]);\n"
	"boxes.forEach(function(b,i){var d=document.createElement('div');\n"
	"d.className='box'+(i===sel?' sel':'');d.setAttribute('data-i',i);\n"
	"d.tabIndex=0;d.setAttribute('role','button');\n"
	"d.setAttribute('aria-label','Box '+(i+1)+': '+Math.round(b.w)+' by '+"
	"\n"
	"Math.round(b.h)+' pixels at '+Math.round(b.x)+', '+Math.round(b.y)+\n"
	"(conf?', sure: '+(known(b.c)?b.c+'%':'not set'):''));\n"
	"d.style.left=(b.x*s)+'px';d.style.top=(b.y*s)+'px';\n"
	"d.style.width=(b.w*s)+'px';d.style.height=(b.h*s)+'px';\n"
	"if(conf&&known(b.c)){var t=document.createElement('span');\n"
	"t.className='c';t.textContent=b.c+'%';d.appendChild(t);}\n"
	"var h=document.createElement('div');h.className='h';\n"
	"d.appendChild(h);wrap.appendChild(d);});\n"
	"if(had&&sel>=0)boxEl(sel).focus({preventScroll:true});\n"
	"byId('count').textContent=boxes.length;syncConf();}\n"
	"function at(e){var r=wrap.getBoundingClientRect(),s=scale();\n"
	"return{x:(e.clientX-r.left)/s,y:(e.clientY-r.top)/s};}\n"
	"wrap.addEventListener('pointerdown',function(e){size();\n"
	"if(!W)return;e.preventDefault();var p=at(e),t=e.target,\n"
	"i=t.getAttribute('data-i');\n"
	"if(t.className==='c'){t=t.parentNode;i=t.getAttribute('data-i');}\n"
	"if(t.className==='h'){i=t.parentNode.getAttribute('data-i');\n"
	"sel=+i;drag={mode:'size',p:p,b:Object.assign({},boxes[sel])};}\n"
	"else if(i!==null){sel=+i;drag={mode:'move',p:p,\n"
	"b:Object.assign({},boxes[sel])};}\n"
	"else{boxes.push({x:p.x,y:p.y,w:0,h:0});sel=boxes.length-1;\n"
	"drag={mode:'new',p:p,b:{x:p.x,y:p.y,w:0,h:0}};}\n"
	"if(wrap.setPointerCapture&&e.pointerId!==undefined)\n"
	"wrap.setPointerCapture(e.pointerId);draw();});\n"
	"wrap.addEventListener('pointermove',function(e){if(!drag)return;\n"
	"e.preventDefault();var p=at(e),dx=p.x-drag.p.x,dy=p.y-drag.p.y,\n"
	"b=drag.b,n;\n"
	"if(drag.mode==='new')n={x:b.x,y:b.y,w:dx,h:dy};\n"
	"else if(drag.mode==='move'){n={x:Math.max(0,Math.min(W-b.w,b.x+dx)),"
	"\n"
	"y:Math.max(0,Math.min(H-b.h,b.y+dy)),w:b.w,h:b.h};}\n"
	"else n={x:b.x,y:b.y,w:Math.max(1,b.w+dx),h:Math.max(1,b.h+dy)};\n"
	"n.c=b.c;boxes[sel]=clip(n);draw();});\n"
	"function end(){if(!drag)return;var b=boxes[sel];\n"
	"if(drag.mode==='new'&&(b.w<3||b.h<3)){boxes.splice(sel,1);sel=-1;}\n"
	"drag=null;draw();}\n"
	"wrap.addEventListener('pointerup',end);\n"
	"wrap.addEventListener('pointercancel',end);\n"
	"wrap.addEventListener('focusin',function(e){\n"
	"var i=e.target.getAttribute('data-i');\n"
	"if(i!==null&&+i!==sel){sel=+i;draw();}});\n"
	"wrap.addEventListener('keydown',function(e){\n"
	"var i=e.target.getAttribute('data-i'),dx=0,dy=0,b,st;\n"
	"if(i===null)return;sel=+i;\n"
	"if(e.key==='Delete'||e.key==='Backspace'){e.preventDefault();\n"
	"e.stopPropagation();remove();return;}\n"
	"if(e.key==='ArrowLeft')dx=-1;else if(e.key==='ArrowRight')dx=1;\n"
	"else if(e.key==='ArrowUp')dy=-1;else if(e.key==='ArrowDown')dy=1;\n"
	"else return;\n"
	"e.preventDefault();size();b=Object.assign({},boxes[sel]);\n"
	"st=Math.max(1,Math.round(4/scale()));\n"
	"if(e.shiftKey){b.w=Math.max(1,b.w+dx*st);b.h=Math.max(1,b.h+dy*st);}"
	"\n"
	"else{b.x=Math.max(0,Math.min(W-b.w,b.x+dx*st));\n"
	"b.y=Math.max(0,Math.min(H-b.h,b.y+dy*st));}\n"
	"boxes[sel]=clip(b);draw();});\n"
	"byId('add').addEventListener('click',function(){\n"
	"size();if(!W)return;var s=Math.max(8,Math.round(Math.min(W,H)/5));\n"
	"boxes.push({x:Math.round((W-s)/2),y:Math.round((H-s)/2),w:s,h:s});\n"
	"sel=boxes.length-1;draw();});\n"
	"function remove(){if(sel<0)return;var a=document.activeElement,\n"
	"had=!!(a&&a.parentNode===wrap);boxes.splice(sel,1);\n"
	"sel=had&&boxes.length?Math.min(sel,boxes.length-1):-1;draw();\n"
	"if(had&&sel<0)byId('add').focus();}\n"
	"byId('remove').addEventListener('click',remove);\n"
	"document.addEventListener('keydown',function(e){\n"
	"if((e.key==='Delete'||e.key==='Backspace')&&\n"
	"!/^(TEXTAREA|INPUT)$/.test(e.target.tagName)){e.preventDefault();\n"
	"remove();}});\n"
	"if(conf)conf.addEventListener('input',function(){if(sel<0)return;\n"
	"boxes[sel].c=parseInt(conf.value,10);draw();});\n"
	"window.addEventListener('resize',draw);img.addEventListener('load',\n"
	"draw);\n"
	"form.addEventListener('submit',function(e){\n"
	"if(preview){e.preventDefault();\n"
	"msg.textContent='Accept the HIT to start.';return;}\n"
	"var f=form.querySelector('input[name=face_found]:checked');\n"
	"if(!f){e.preventDefault();msg.textContent=\n"
	"'Please answer: '+byId('fq').textContent;return;}\n"
	"var kept=boxes.map(clip).filter(function(b){return b.w>=1&&b.h>=1;});"
	"\n"
	"byId('boxes').value=JSON.stringify(kept.map(function(b){\n"
	"return[Math.round(b.x),Math.round(b.y),\n"
	"Math.max(1,Math.round(b.w)),Math.max(1,Math.round(b.h))];}));\n"
	"if(conf)byId('confidence').value=JSON.stringify(kept.map(function(b){"
	"\n"
	"return known(b.c)?Math.round(b.c):null;}));});\n"
	"draw();\n"
	"})();\n";

static int
append_text(struct buf *b, const char *s)
{
	return buf_append_html(b, s, strlen(s));
}

/*
 * The instructions as paragraphs: a line holding only white space parts
 * them; other line breaks are kept as spaces.
 */
static int
append_paragraphs(struct buf *b, const char *s)
{
	int rc = 0;

	while (*s != '\0' && rc == 0) {
		const char *end = s, *next;

		/* The paragraph ends at a newline followed by a blank line. */
		for (;;) {
			const char *nl = strchr(end, '\n');
			const char *p;

			if (nl == NULL) {
				end = s + strlen(s);
				next = end;
				break;
			}
			p = nl + 1;
			while (*p == ' ' || *p == '\t' || *p == '\r')
				p++;
			if (*p == '\n' || *p == '\0') {
				end = nl;
				next = p;
				break;
			}
			end = nl + 1;
		}
		while (*next == '\n' || *next == ' ' || *next == '\t' ||
		       *next == '\r')
			next++;
		if (end > s) {
			rc |= buf_append_str(b, "<p>");
			rc |= buf_append_html(b, s, (size_t)(end - s));
			rc |= buf_append_str(b, "</p>\n");
		}
		s = next;
	}
	return rc;
}

static int
check_params(const struct task_page *p, struct errbuf *eb)
{
	const char *u = p->image_url;

	if (u == NULL || (strncmp(u, "https://", 8) != 0 &&
			  strncmp(u, "http://", 7) != 0))
		return err_set(eb, IF_EINPUT,
			       "task page: image URL \"%.100s\" is not an "
			       "http(s) URL",
			       u != NULL ? u : "(none)");
	for (const char *c = u; *c != '\0'; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f)
			return err_set(eb, IF_EINPUT,
				       "task page: image URL has a space or "
				       "control character");
	if (p->width <= 0 || p->height <= 0 || p->width > 1000000 ||
	    p->height > 1000000)
		return err_set(eb, IF_EINPUT,
			       "task page: image size %dx%d is not valid",
			       p->width, p->height);
	return IF_OK;
}

static const char *
text_or(const char *s, const char *def)
{
	return s != NULL && s[0] != '\0' ? s : def;
}

/* The slider under the image, for the selected box. */
static int
append_confidence(struct buf *out, const struct task_page *p)
{
	int rc = buf_append_str(out, "<div class=\"bar\"><label for=\"conf\">");

	rc |= append_text(out, text_or(p->confidence_label,
				       TASK_TEXT_CONFIDENCE));
	rc |= buf_append_str(
		out, "</label> <input type=\"range\" id=\"conf\" min=\"0\" "
		     "max=\"100\" step=\"5\" value=\"50\" disabled> <output "
		     "id=\"confv\" for=\"conf\" aria-live=\"polite\">select a "
		     "box</output></div>\n");
	return rc;
}

int
task_page_html(const struct task_page *p, struct buf *out, struct errbuf *eb)
{
	const char *title = text_or(p->title, TASK_TEXT_TITLE);
	int rc = check_params(p, eb);

	if (rc != IF_OK)
		return rc;
	rc = buf_append_str(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
				 "<meta charset=\"utf-8\">\n<title>");
	rc |= append_text(out, title);
	rc |= buf_append_str(out, "</title>\n");
	rc |= buf_append_str(out, page_style);
	rc |= buf_append_str(out, "<main>\n<h1>");
	rc |= append_text(out, title);
	if (p->stage > 0 && p->nstages > 0)
		rc |= buf_printf(out, " <small>(stage %d of %d)</small>",
				 p->stage, p->nstages);
	rc |= buf_append_str(out, "</h1>\n<div class=\"inst\">");
	rc |= append_paragraphs(out, text_or(p->instructions,
					     TASK_TEXT_INSTRUCTIONS));
	rc |= buf_append_str(out, "</div>\n");
	rc |= buf_printf(out, "<div id=\"wrap\" data-w=\"%d\" data-h=\"%d\">"
			      "<img id=\"img\" alt=\"the image to check\" "
			      "width=\"%d\" height=\"%d\" src=\"",
			 p->width, p->height, p->width, p->height);
	rc |= append_text(out, p->image_url);
	rc |= buf_append_str(
		out,
		"\"></div>\n<div class=\"bar\"><button type=\"button\" "
		"id=\"add\">Add box</button><button type=\"button\" "
		"id=\"remove\">Remove box</button> Boxes: <span "
		"id=\"count\">0</span></div>\n");
	if (p->confidence)
		rc |= append_confidence(out, p);
	rc |= buf_append_str(
		out,
		"<form name=\"mturk_form\" id=\"mturk_form\" method=\"post\" "
		"action=\"https://www.mturk.com/mturk/externalSubmit\">\n"
		"<input type=\"hidden\" name=\"assignmentId\" "
		"id=\"assignmentId\" value=\"\">\n"
		"<input type=\"hidden\" name=\"boxes\" id=\"boxes\" "
		"value=\"[]\">\n");
	if (p->confidence)
		rc |= buf_append_str(out, "<input type=\"hidden\" "
					  "name=\"confidence\" "
					  "id=\"confidence\" value=\"[]\">\n");
	rc |= buf_append_str(out, "<fieldset><legend id=\"fq\">");
	rc |= append_text(out, text_or(p->face_question,
				       TASK_TEXT_FACE_QUESTION));
	rc |= buf_append_str(
		out,
		"</legend>\n<label><input type=\"radio\" name=\"face_found\" "
		"value=\"yes\"> Yes</label>\n<label><input type=\"radio\" "
		"name=\"face_found\" value=\"no\"> No</label></fieldset>\n"
		"<p><label for=\"feedback\">Feedback (optional)</label><br>"
		"<textarea name=\"feedback\" id=\"feedback\" rows=\"3\" "
		"maxlength=\"2000\"></textarea></p>\n"
		"<p id=\"msg\" role=\"alert\"></p>\n"
		"<input type=\"submit\" id=\"submitButton\" value=\"Submit\">\n"
		"</form>\n</main>\n<script>\n");
	rc |= buf_append_str(out, page_script);
	rc |= buf_append_str(out, "</script>\n</body></html>\n");
	if (rc != 0)
		return err_set(eb, IF_ERUNTIME,
			       "task page: out of memory or over the size cap");
	return IF_OK;
}

int
task_page_question(const struct task_page *p, struct buf *out,
		   struct errbuf *eb)
{
	size_t start = out->len;
	int rc;

	rc = buf_append_str(out, "<HTMLQuestion xmlns=\"" HTMLQUESTION_NS
				 "\"><HTMLContent><![CDATA[");
	if (rc != 0)
		return err_set(eb, IF_ERUNTIME, "task page: out of memory");
	rc = task_page_html(p, out, eb);
	if (rc != IF_OK)
		return rc;
	if (buf_append_str(out, "]]></HTMLContent><FrameHeight>0</FrameHeight>"
				"</HTMLQuestion>") != 0)
		return err_set(eb, IF_ERUNTIME, "task page: out of memory");
	if (out->len - start > TASK_QUESTION_MAX)
		return err_set(eb, IF_EINPUT,
			       "task page: the Question is %zu bytes, over "
			       "MTurk's limit of %d",
			       out->len - start, TASK_QUESTION_MAX);
	return IF_OK;
}
