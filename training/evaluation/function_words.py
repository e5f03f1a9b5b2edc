"""Function words (closed-class words) of English and Russian, for stylometry.

Their rates carry an author's habits independently of topic, and the text
distortion feature keeps them while masking every other word.
"""

EN = frozenset(
    """
a about above after again against all almost along already also although always am among an and
another any anybody anyone anything are around as at be because been before being below beneath
beside besides between beyond both but by can cannot could did do does doing done down during each
either enough even ever every everything few for from further had has have having he her here hers
herself him himself his how however i if in indeed into is it its itself just least less like
many may me might mine more most much must my myself neither never nevertheless no nobody none nor
not nothing now of off often on once one only onto or other others otherwise ought our ours
ourselves out over own perhaps quite rather same shall she should since so some somebody someone
something sometimes still such than that the their theirs them themselves then there therefore
these they this those though through thus till to together too toward towards under unless until
up upon us very was we were what whatever when whenever where wherever whether which while whilst
who whoever whom whose why will with within without would yet you your yours yourself yourselves
""".split()
)

RU = frozenset(
    """
а без более бы был была были было быть в вам вас весь во вот все всё всего всех вы где да даже
для до его ее её ей ему если есть еще ещё же за здесь и из или им их к как какой когда кто ли
либо между меня мне мной мог может мы на над надо наш не него нее неё нет ни ним них ничего но
ну о об один он она они оно от очень по под после потом потому почти при про раз с сам сама
сами само свой себе себя со совсем так также такой там тебе тебя то тогда того тоже только том
тот ту ты у уж уже хоть хотя чего чем через что чтоб чтобы чуть эта эти это этого этой этот я
""".split()
)


def for_lang(lang: str) -> frozenset[str]:
    return RU if lang == "ru" else EN
