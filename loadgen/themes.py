"""Videos of known topics, told apart by their titles and descriptions alone: three themes (cooking, football,
space flight) of six videos each, a later arrival per theme and one off-topic video, all over one silent clip
without text (ffmpeg's mandelbrot pattern, used for nothing else), so a video's topic embedding is its
metadata's (the first published is the clip's original, the others copies of it). The topic-cluster test
(tests/stack/test_cluster_flow.py) and the demo (loadgen/demo.py) publish them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loadgen.samples import run_ffmpeg

THEMES = {
    "cooking": [
        ("How to bake sourdough bread at home", "Kneading the dough, proofing it overnight and baking a crusty loaf "
         "in the oven. A simple recipe for home cooks."),
        ("Quick pasta carbonara recipe", "Cook the pasta, whisk eggs with pecorino cheese and fry the guanciale. "
         "Dinner from the kitchen in ten minutes."),
        ("Knife skills for chopping vegetables", "Dicing onions, slicing peppers and chopping carrots for soups. "
         "Basic cooking technique every recipe needs."),
        ("Slow cooked beef stew", "Brown the beef, add root vegetables and stock, then simmer for hours. A hearty "
         "winter recipe to cook at home."),
        ("Chocolate cake baking tutorial", "Mix the batter, bake the sponge in the oven and ice the layers. Baking "
         "dessert in a home kitchen."),
        ("Vegetable curry with rice", "Fry spices and onions, add vegetables and coconut milk and cook the rice. "
         "An easy weeknight dinner recipe."),
    ],
    "football": [
        ("Champions league final highlights", "Every goal from the final football match, the striker scores and the "
         "team lifts the trophy."),
        ("Best penalty saves of the season", "Goalkeepers dive to stop penalty kicks in league football matches this "
         "season."),
        ("Midfield passing drills for youth teams", "A football training session: passing, dribbling and shooting "
         "drills for young players and their coach."),
        ("Derby match goals and red cards", "The striker scores twice in the second half and the referee shows two "
         "red cards in the football derby."),
        ("World cup qualifier recap", "The national football team wins the away match with a late goal from a "
         "corner kick."),
        ("Top ten free kick goals", "Players curl free kicks over the wall past the goalkeeper into the top corner "
         "of the goal."),
    ],
    "space": [
        ("Rocket launch to the space station", "Liftoff of the rocket, stage separation and orbit insertion on the "
         "way to the international space station."),
        ("Astronauts on a spacewalk", "Astronauts repair a solar panel outside the orbiting space station, floating "
         "above the Earth."),
        ("Mars rover landing explained", "Entry, descent and landing of the rover on the red planet after months in "
         "space."),
        ("Telescope images of distant galaxies", "The space telescope photographs galaxies and stars in the early "
         "universe."),
        ("Moon mission crew training", "Astronauts prepare for the lunar mission: rocket launch, orbit and landing "
         "on the moon."),
        ("Satellite deployment in orbit", "The rocket's upper stage releases satellites into orbit high above the "
         "Earth."),
    ],
}
# Four more per theme for the demo, whose archive also holds other videos: six per theme among them are too few
# for hdbscan to find every theme reliably.
MORE_THEMES = {
    "cooking": [
        ("Homemade dumplings from scratch", "Roll the dough, fill it with pork and cabbage and steam the dumplings. "
         "A family recipe cooked at home."),
        ("Perfect roast chicken dinner", "Season the chicken, roast it in the oven with potatoes and make gravy from "
         "the pan. Sunday dinner recipe."),
        ("Easy pancake breakfast", "Whisk flour, eggs and milk into a batter and fry the pancakes in a hot pan. A "
         "quick breakfast recipe."),
        ("Fresh tomato soup recipe", "Roast tomatoes and garlic, simmer them with stock and blend a smooth soup. "
         "Cooking in a home kitchen."),
    ],
    "football": [
        ("Last minute winning goal", "The striker heads in a cross in stoppage time and the football crowd goes "
         "wild as the team wins the match."),
        ("Defending corners in football", "The coach shows how defenders mark players and clear the ball at corner "
         "kicks in a league match."),
        ("Goalkeeper of the season awards", "Saves, clean sheets and penalty stops from the best football "
         "goalkeepers in the league this season."),
        ("Youth football tournament final", "Young players score goals and the team lifts the cup after a penalty "
         "shootout in the football final."),
    ],
    "space": [
        ("Life aboard the space station", "Astronauts eat, sleep and run experiments while orbiting the Earth on the "
         "international space station."),
        ("Jupiter probe flyby", "The spacecraft flies past Jupiter and its moons, sending images back across space "
         "to Earth."),
        ("Rocket engine test firing", "Engineers fire the rocket engine on the test stand before the launch to "
         "orbit."),
        ("Solar eclipse seen from orbit", "The space station crew watches the Moon's shadow cross the Earth during "
         "the eclipse."),
    ],
}
ARRIVALS = {"cooking": ("Homemade pizza dough recipe", "Knead the dough, add tomato and cheese and bake the pizza in "
                        "a hot oven at home."),
            "football": ("Goalkeeper training and shot stopping", "Football goalkeepers practise saves against shots "
                         "and penalty kicks at training."),
            "space": ("Reusable rocket launch", "The rocket launches a satellite to orbit and the booster lands back "
                      "on Earth after leaving space.")}
OFF_TOPIC = ("Quarterly tax filing deadline reminder", "Forms and receipts accountants ask for")


def themed_event(video_id: str, title: str, description: str, uri: str, n: int) -> dict[str, Any]:
    """The ``n``-th themed event (published ``n`` minutes after the first), its channel named by its id's prefix."""
    return {"video_id": video_id, "media_uri": uri, "channel_id": f"channel-{video_id.split('-')[0]}",
            "published_at": datetime(2026, 5, 1, tzinfo=UTC) + timedelta(minutes=n), "title": title,
            "description": description, "tags": [], "series_id": None, "episode_number": None,
            "language_hint": None}


def themed_clip(media_root: Path) -> str:
    """The clip every themed video shows (made once); its media URI."""
    target = media_root / "themes" / "clip.mp4"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        run_ffmpeg([], ["-f", "lavfi", "-i", "mandelbrot=s=320x240:rate=25", "-t", "8", "-c:v", "libx264",
                        "-pix_fmt", "yuv420p"], target)
    return str(target.relative_to(media_root))
